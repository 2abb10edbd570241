// The runner: bytes reach stdin exactly, argv is literal (no shell), env is minimal, timeouts kill.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { UnlockError } from '../../src/errors.ts';
import { createFakePrograms, type FakePrograms } from './fake-programs.ts';

let fakes: FakePrograms;
beforeEach(async () => {
  fakes = await createFakePrograms(['cryptsetup']);
});
afterEach(async () => {
  await fakes.cleanup();
  delete process.env.LUKS_SSM_TEST_SENTINEL;
});

describe('createRunner', () => {
  it('writes the exact input bytes to stdin and passes argv literally, without a shell', async () => {
    const input = Buffer.from([0x00, 0xff, 0x0a, 0x20, 0x24, 0x28, 0xc3, 0x28, 0x0a]);
    const argv = ['open', '$(touch pwned)', 'a b', '*', ';', '"'];
    const result = await createRunner({ path: fakes.path })('cryptsetup', argv, { input });
    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '', timedOut: false });
    const [call] = await fakes.calls('cryptsetup');
    expect(call?.argv).toEqual(argv);
    expect(call?.stdin.equals(input)).toBe(true);
    expect(await readdir(fakes.dir)).not.toContain('pwned');
  });

  it('gives the child only PATH and LC_ALL=C, never our environment', async () => {
    process.env.LUKS_SSM_TEST_SENTINEL = 'leaked-from-parent';
    await createRunner({ path: fakes.path })('cryptsetup', ['status', 'x']);
    const [call] = await fakes.calls('cryptsetup');
    const names = call!.env.trim().split('\n').map((line) => line.split('=')[0]);
    expect(call!.env).not.toContain('leaked-from-parent');
    expect(call!.env).toContain(`PATH=${fakes.path}\n`);
    expect(call!.env).toContain('LC_ALL=C\n');
    // The shell running the fake adds PWD (and some add SHLVL/_) itself.
    expect(names.filter((n) => !['PATH', 'LC_ALL', 'PWD', 'SHLVL', '_'].includes(n!))).toEqual([]);
  });

  it('gives the child an empty stdin when there is no input', async () => {
    await createRunner({ path: fakes.path })('cryptsetup', ['status', 'x']);
    const [call] = await fakes.calls('cryptsetup');
    expect(call?.stdin.length).toBe(0);
  });

  it('returns a non-zero exit with its output instead of throwing', async () => {
    await fakes.script('cryptsetup', { exit: 5, stdout: 'out\n', stderr: 'Device x is still in use.\n' });
    const result = await createRunner({ path: fakes.path })('cryptsetup', ['close', 'x']);
    expect(result).toEqual({ exitCode: 5, stdout: 'out\n', stderr: 'Device x is still in use.\n', timedOut: false });
  });

  it('throws SYSTEM naming the package when the program is not installed', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'luks-ssm-empty-'));
    try {
      const run = createRunner({ path: empty });
      const error = await run('cryptsetup', ['isLuks', '/dev/x']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnlockError);
      expect(error).toMatchObject({
        kind: 'SYSTEM',
        message: 'Failed to run cryptsetup: not found (install cryptsetup)',
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('kills a child that outlives timeoutMs and reports timedOut', async () => {
    await fakes.script('cryptsetup', { sleepSec: 30 });
    const started = Date.now();
    const result = await createRunner({ path: fakes.path })('cryptsetup', ['open'], { timeoutMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('follows SIGTERM with SIGKILL when the child ignores SIGTERM', async () => {
    await fakes.script('cryptsetup', { ignoreTerm: true });
    const started = Date.now();
    const result = await createRunner({ path: fakes.path })('cryptsetup', ['open'], { timeoutMs: 200 });
    const elapsed = Date.now() - started;
    expect(result.timedOut).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(10_000);
  });
});
