// systemd-ask-password as start runs it: the question's id and bound, the answer's exact bytes, and withdrawal.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runForSecret } from '../../src/exec/run.ts';
import { createAskPassword } from '../../src/systemd/ask-password.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-ask-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake systemd-ask-password on PATH: records its argv, then runs `body`. */
async function fakeAsk(body: string) {
  await writeFile(join(dir, 'systemd-ask-password'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/argv\n${body}\n`);
  await chmod(join(dir, 'systemd-ask-password'), 0o755);
  return createAskPassword((file, args, opts) => runForSecret(file, args, opts, `${dir}:/usr/bin:/bin`));
}

describe('createAskPassword', () => {
  it('asks with --id naming the volume and --timeout the bound, and returns the typed bytes without the newline', async () => {
    const ask = await fakeAsk(`printf 'cbdefghi-jklnrtuv \\n'`);
    const result = await ask({ id: 'luks-ssm:data', message: 'Recovery key for data:', timeoutSec: 42.9 });
    expect('key' in result && result.key.bytes().toString()).toBe('cbdefghi-jklnrtuv ');
    expect((await readFile(join(dir, 'argv'), 'utf8')).split('\n')).toEqual(expect.arrayContaining(['--id=luks-ssm:data', '--timeout=42', 'Recovery key for data:']));
  });

  it('reports no key when the question times out or is cancelled at the agent', async () => {
    const ask = await fakeAsk(`echo 'Timed out' >&2; exit 1`);
    expect(await ask({ id: 'luks-ssm:data', message: 'm', timeoutSec: 1 })).toEqual({ none: 'Timed out' });
  });

  it('withdraws the question when told: the process is stopped (SIGTERM) at once', async () => {
    const ask = await fakeAsk(`trap 'echo withdrawn > ${dir}/term; exit 1' TERM\nwhile :; do sleep 0.05; done`);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    expect(await ask({ id: 'luks-ssm:data', message: 'm', timeoutSec: 60, signal: controller.signal })).toEqual({ none: 'withdrawn' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(existsSync(join(dir, 'term'))).toBe(true);
  });
});
