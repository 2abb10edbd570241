// Key-slot work under the host lock in one spawn, with the real sh and flock(1) and a fake cryptsetup script.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { openLuks } from '../../src/luks/cryptsetup.ts';
import { cryptsetupError } from '../../src/luks/exit-status.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { Runner } from '../../src/types.ts';
import { runnerUnderLock } from '../../src/volume/locked-run.ts';
import { acquireRunLock } from '../../src/volume/run-lock.ts';

const KEY = Buffer.from('locked-run key\nwith a newline');
const OPEN_ARGS = ['open', '--type', 'luks', '--key-file=-', '--', '/dev/x', 'data'];

let base: string;
let dir: string;
let bin: string;
let state: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'luks-ssm-lockedrun-'));
  dir = join(base, 'run');
  bin = join(base, 'bin');
  state = join(base, 'state');
  await mkdir(bin);
  await mkdir(state);
  // Notes its pid, argv, whether others could take the lock, whether it got an fd 3, and how many stdin bytes it read.
  await writeFile(join(bin, 'cryptsetup'), [
    '#!/bin/sh',
    `state='${state}'`,
    'echo $$ > "$state/pid"',
    'printf "%s\\n" "$@" > "$state/argv"',
    `if flock --nonblock '${join(dir, 'lock')}' true; then echo free; else echo held; fi > "$state/lock"`,
    'if [ -e /proc/$$/fd/3 ]; then echo yes; else echo no; fi > "$state/fd3"',
    'wc -c | tr -d " " > "$state/stdin"',
    '[ -e "$state/sleep" ] && exec sleep 30',
    'echo "cryptsetup out"',
    'echo "cryptsetup: the first line of its stderr" >&2',
    'exit "$(cat "$state/status" 2>/dev/null || echo 0)"',
    '',
  ].join('\n'));
  await chmod(join(bin, 'cryptsetup'), 0o755);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const noted = async (what: string): Promise<string | undefined> => readFile(join(state, what), 'utf8').then((t) => t.trim(), () => undefined);

/** Whether another process could take the host lock right now. */
function freeForOthers(): boolean {
  try {
    execFileSync('flock', ['--nonblock', join(dir, 'lock'), 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** The real runner with the fake cryptsetup first on PATH, recording each spawn. */
function recordingRunner(path = `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`): { run: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const real = createRunner({ path });
  return { calls, run: (file, args, options) => (calls.push([file, ...args]), real(file, args, options)) };
}

const underLock = (run: Runner, deadline = Date.now() + 10_000) => runnerUnderLock({ dir, deadline, now: Date.now, run });

describe('runnerUnderLock', () => {
  it('runs the program in one spawn holding the lock, the key on stdin only and no fd 3, and lets go when it ends', async () => {
    const { run, calls } = recordingRunner();
    const result = await underLock(run)('cryptsetup', OPEN_ARGS, { input: KEY, timeoutMs: 10_000 });
    expect(result).toEqual({ exitCode: 0, stdout: 'cryptsetup out\n', stderr: 'cryptsetup: the first line of its stderr\n', timedOut: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.slice(0, 2)).toEqual(['sh', '-c']);
    expect(calls[0]!.slice(3)).toEqual(['sh', 'cryptsetup', ...OPEN_ARGS]);
    expect(calls.flat().some((arg) => arg.includes('locked-run key'))).toBe(false);
    expect({ argv: await noted('argv'), lock: await noted('lock'), fd3: await noted('fd3'), stdin: await noted('stdin') })
      .toEqual({ argv: OPEN_ARGS.join('\n'), lock: 'held', fd3: 'no', stdin: String(KEY.length) });
    expect(freeForOthers()).toBe(true);
  });

  it('cryptsetup\'s exit statuses mean what they meant, and the lock is let go after each failure', async () => {
    const { run } = recordingRunner();
    for (const status of [1, 2, 3, 4, 5]) {
      await writeFile(join(state, 'status'), String(status));
      const expected = cryptsetupError('open /dev/x as data', '/dev/x', { exitCode: status, stdout: '', stderr: 'cryptsetup: the first line of its stderr\n', timedOut: false }, true);
      await expect(openLuks(underLock(run), '/dev/x', 'data', Secret.copyOf(KEY), { timeoutMs: 10_000 }), `status ${status}`)
        .rejects.toMatchObject({ kind: expected.kind, message: expected.message });
      expect(freeForOthers(), `status ${status}`).toBe(true);
    }
  });

  it('held by another process until the deadline: LOCKED with the run lock\'s own line, and the program never runs', async () => {
    const holder = await acquireRunLock({ dir, timeoutMs: 1000 });
    try {
      const { run } = recordingRunner();
      const now = Date.now();
      await expect(runnerUnderLock({ dir, deadline: now + 300, now: () => now, run })('cryptsetup', OPEN_ARGS, { input: KEY, timeoutMs: 10_000 }))
        .rejects.toMatchObject({ kind: 'LOCKED', retryable: true, message: `Another luks-ssm run holds ${join(dir, 'lock')}; gave up after 0.3 s` });
      // The call's own timeout bounds the wait too (start gives the open what is left of its deadline).
      await expect(underLock(run)('cryptsetup', OPEN_ARGS, { input: KEY, timeoutMs: 400 }))
        .rejects.toMatchObject({ kind: 'LOCKED', message: `Another luks-ssm run holds ${join(dir, 'lock')}; gave up after 0.4 s` });
      expect(await noted('pid')).toBeUndefined();
    } finally {
      await holder.release();
    }
  });

  it('waits for a lock that is let go in time, then runs the program', async () => {
    const holder = await acquireRunLock({ dir, timeoutMs: 1000 });
    setTimeout(() => void holder.release(), 300);
    const { run } = recordingRunner();
    await openLuks(underLock(run), '/dev/x', 'data', Secret.copyOf(KEY), { timeoutMs: 10_000 });
    expect(await noted('lock')).toBe('held');
    expect(freeForOthers()).toBe(true);
  });

  it('a timeout kills the program itself (sh exec\'d it), not a shell that would leave it running, and lets go of the lock', async () => {
    await writeFile(join(state, 'sleep'), '');
    const { run } = recordingRunner();
    await expect(openLuks(underLock(run), '/dev/x', 'data', Secret.copyOf(KEY), { timeoutMs: 1500 }))
      .rejects.toMatchObject({ kind: 'TIMEOUT', message: 'Failed to open /dev/x as data: cryptsetup did not finish in time' });
    const pid = Number(await noted('pid'));
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(freeForOthers()).toBe(true);
  });

  it('flock or the program missing: the line a direct spawn gives', async () => {
    const shOnly = join(base, 'sh-only');
    await mkdir(shOnly);
    await symlink('/bin/sh', join(shOnly, 'sh'));
    await expect(underLock(recordingRunner(shOnly).run)('cryptsetup', OPEN_ARGS, { timeoutMs: 10_000 }))
      .rejects.toMatchObject({ kind: 'SYSTEM', message: 'Failed to run flock: not found (install util-linux)' });
    await symlink(execFileSync('sh', ['-c', 'command -v flock']).toString().trim(), join(shOnly, 'flock'));
    await expect(underLock(recordingRunner(shOnly).run)('cryptsetup', OPEN_ARGS, { timeoutMs: 10_000 }))
      .rejects.toMatchObject({ kind: 'SYSTEM', message: 'Failed to run cryptsetup: not found (install cryptsetup)' });
    expect(freeForOthers()).toBe(true);
  });
});
