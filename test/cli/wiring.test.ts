// Which programs a verb runs: the fixed system path in production, whatever PATH the caller had (issue #10 item 9).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLazyBus, createVolumeDeps } from '../../src/cli/wiring.ts';
import { createSilentLogger } from '../../src/log.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-wiring-'));
  // A planted `true` that leaves a mark: it runs only if the runner searches the caller's PATH first.
  await writeFile(join(dir, 'true'), `#!/bin/sh\necho planted >${join(dir, 'ran')}\n`, { mode: 0o755 });
});
beforeEach(() => rm(join(dir, 'ran'), { force: true }));
afterAll(() => rm(dir, { recursive: true, force: true }));

function depsWith(env: Record<string, string>) {
  return createVolumeDeps({ env, log: createSilentLogger(), runDir: join(dir, 'run'), bus: createLazyBus() });
}

describe('the runner a verb gets', () => {
  it('finds programs on the fixed system path, not on the PATH it inherited', async () => {
    const result = await depsWith({ PATH: `${dir}:/usr/bin:/bin` }).run('true', []);
    expect(result.exitCode).toBe(0);
    await expect(readFile(join(dir, 'ran'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('puts LUKS_SSM_TEST_EXEC_PATH first (tests only: the launcher and the unit drop it)', async () => {
    const result = await depsWith({ PATH: '/usr/bin:/bin', LUKS_SSM_TEST_EXEC_PATH: dir }).run('true', []);
    expect(result.exitCode).toBe(0);
    expect(await readFile(join(dir, 'ran'), 'utf8')).toBe('planted\n');
  });
});
