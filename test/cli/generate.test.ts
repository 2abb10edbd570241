// The generator verb's stderr reaches the kernel log at boot: every line it writes must stay one printable line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGenerator } from '../../src/cli/generate.ts';

const root = mkdtempSync(join(tmpdir(), 'luks-ssm-generate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('runGenerator', () => {
  it('escapes control characters before a warning reaches the log (last guard: file contents are quoted already)', async () => {
    // A path with an escape sequence and a line break: raw, it would clear a console or forge a second log line.
    const confDir = join(root, 'x\x1b[2J\nforged');
    writeFileSync(confDir, 'not a directory\n');
    const out = join(root, 'out');
    mkdirSync(out);
    let stderr = '';
    const status = await runGenerator([out], { env: { LUKS_SSM_CONF_DIR: confDir, LUKS_SSM_DEFAULTS: join(root, 'none') }, stderr: (t) => { stderr += t; } });
    expect(status).toBe(0);
    expect(stderr).toBe(`luks-ssm-generator: Failed to list ${root}/x\\x1b[2J\\x0aforged: ENOTDIR, ignoring.\n`);
  });
});
