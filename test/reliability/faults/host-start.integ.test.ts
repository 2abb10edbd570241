// Fault matrix, host side: the built CLI's start/stop with the fault in the device, the mount point, the config,
// the run dir, a second run, or a signal; the fake cryptsetup/mount over real LUKS2 headers, the emulator for AWS.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { access, chmod, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { canRunCryptsetup } from '../../cli/luks-image.ts';
import { CLI_TIMEOUT_MS, type CliResult } from '../../support/cli.ts';
import { faultRow } from '../fault-row.ts';
import { firstLineOf, type StartScene, type Volume } from './start-scene.ts';
import { sceneFor, waitFor } from './world.ts';

const TEST_TIMEOUT_MS = 60_000;
const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/** A tmpfs of 64 KiB, filled to the last byte; undefined when this host cannot mount (then the row is skipped). */
function fullTmpfs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'luks-ssm-full', dir], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    return false;
  }
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4k'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // dd ends with "No space left on device": that is the point.
  }
  return true;
}

describe.skipIf(!canRunCryptsetup)('fault matrix: device, mount point, config, run dir, concurrency, signals', { concurrent: true, timeout: TEST_TIMEOUT_MS }, () => {
  it('device attached 1.5 s after start: waits for it, mounts', async (ctx) => {
    const scene = await sceneFor(ctx, 'dev-late');
    const vol = await scene.addVolume('data', { DEVICE_TIMEOUT_SEC: '20' }, { device: false });
    const running = scene.run(['start', 'data']);
    await new Promise((r) => setTimeout(r, 1_500));
    await scene.attach(vol);
    const result = await running;
    faultRow(ctx, { area: 'device', fault: 'device attached late (1.5 s)', injectedIn: 'fake', exitCode: 0, expected: 'waits, mounts' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
  });

  it('device never attached: 66 after DEVICE_TIMEOUT_SEC', async (ctx) => {
    const scene = await sceneFor(ctx, 'dev-never');
    const vol = await scene.addVolume('data', { DEVICE_TIMEOUT_SEC: '1' }, { device: false });
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'device', fault: 'device never attached', injectedIn: 'fake', exitCode: 66, expected: 'gives up at DEVICE_TIMEOUT_SEC' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toBe('luks-ssm start data: Device /dev/data did not appear within 1 s (check the volume is attached to this instance (aws ec2 describe-volumes) and run lsblk)\n');
  });

  it('device is not LUKS: 65, never formatted', async (ctx) => {
    const scene = await sceneFor(ctx, 'not-luks');
    const vol = await scene.addVolume('data', {}, { luks: false });
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'device', fault: 'device is not LUKS (zeros)', injectedIn: 'fake', exitCode: 65, expected: 'refuses, never formats' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(/is not a LUKS volume/);
  });

  it('disk already open under another name: 88, before the key', async (ctx) => {
    const scene = await sceneFor(ctx, 'in-use');
    const vol = await scene.addVolume('data');
    await scene.sys.addMapping('byhand', vol.device);
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'device', fault: 'disk already open under another name (a crypttab line, a second config)', injectedIn: 'fake', exitCode: 88, expected: 'refuses before fetching the key, names the mapping' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(/is already open as byhand \(\/dev\/mapper\/byhand\), refusing to open it as data/);
    ctx.expect(scene.emulator.requests().filter((r) => r.action === 'GetParameter')).toEqual([]);
  });

  it('the parameter holds a passphrase no keyslot knows: 80', async (ctx) => {
    const scene = await sceneFor(ctx, 'wrong-key');
    const vol = await scene.addVolume('data', { SSM_PATH: '/luks/wrong' });
    scene.emulator.putParameter('/luks/wrong', 'a passphrase this device has never seen');
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'passphrase', fault: 'wrong passphrase in SSM', injectedIn: 'emulator', exitCode: 80, expected: 'refuses, says what it tried' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(/No keyslot of .* opens with SSM parameter \/luks\/wrong \(1 version tried\)/);
  });

  it('mount point missing: created 0700, mounted', async (ctx) => {
    const scene = await sceneFor(ctx, 'mp-missing');
    const vol = await scene.addVolume('data');
    ctx.expect(await exists(vol.mountPoint)).toBe(false);
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'mount point', fault: 'mount point missing', injectedIn: 'host', exitCode: 0, expected: 'creates it (0700), mounts' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
  });

  it('mount point not empty: 82, its files intact, the volume closed again', async (ctx) => {
    const scene = await sceneFor(ctx, 'mp-full');
    const vol = await scene.addVolume('data');
    await mkdir(vol.mountPoint, { recursive: true });
    await writeFile(join(vol.mountPoint, 'app.db'), 'rows the application wrote to the root disk\n');
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'mount point', fault: 'mount point not empty', injectedIn: 'host', exitCode: 82, expected: 'refuses to hide the files' },
      scene.observe(result, await scene.untouched(vol, { 'app.db': 'rows the application wrote to the root disk\n' }), await scene.noSecret(result)));
  });

  it('stop while a process works in the mount: 81 naming it, left mounted and open', async (ctx) => {
    const scene = await sceneFor(ctx, 'busy');
    const vol = await scene.addVolume('data');
    const started = await scene.run(['start', 'data']);
    ctx.expect(started.code).toBe(0);
    let holder: ChildProcess | undefined;
    try {
      holder = spawn('sleep', ['30'], { cwd: vol.mountPoint, stdio: 'ignore' });
      await scene.sys.setBusy(true);
      const result = await scene.run(['stop', 'data']);
      faultRow(ctx, { area: 'mount point', fault: 'mount point busy at stop', injectedIn: 'fake', exitCode: 81, expected: 'refuses, names the process, changes nothing' },
        scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(started, result)));
      ctx.expect(result.stderr).toContain(`held by pid ${holder.pid}`);
    } finally {
      holder?.kill('SIGKILL');
    }
  });

  // Review 9: any user can make their process's /proc entry unreadable (argv on a FUSE file that never answers). The
  // list of holders stops at its budget; the read left hanging holds a libuv thread that Node's exit would wait for.
  it('stop while a holder\'s /proc entry never answers: 81 with what the scan found, and the process still ends', async (ctx) => {
    const scene = await sceneFor(ctx, 'busy-stuck');
    const vol = await scene.addVolume('data');
    ctx.expect((await scene.run(['start', 'data'])).code).toBe(0);
    const proc = join(scene.ws.dir, 'proc');
    for (const [pid, comm] of [[10, 'worker'], [20, 'staller']] as const) {
      await mkdir(join(proc, String(pid), 'fd'), { recursive: true });
      await writeFile(join(proc, String(pid), 'comm'), `${comm}\n`);
      await symlink(vol.mountPoint, join(proc, String(pid), 'cwd'));
    }
    await writeFile(join(proc, '10', 'cmdline'), '');
    const fifo = join(proc, '20', 'cmdline');
    execFileSync('mkfifo', [fifo]);
    await scene.sys.setBusy(true);
    try {
      const result = await scene.run(['stop', 'data'], { env: { extra: { LUKS_SSM_PROC_ROOT: proc } }, timeoutMs: 30_000 });
      ctx.expect([result.timedOut, result.signal]).toEqual([false, 'SIGKILL']);
      ctx.expect(result.stderr).toContain(`${vol.mountPoint} is busy, held by pid 10 (worker) and maybe others (the scan of processes stopped after 5 s`);
      ctx.expect((await scene.mountedOnly(vol)).problems).toEqual([]);
    } finally {
      await scene.sys.setBusy(false);
      // The CLI's blocked open(2) died with it; be a writer anyway so nothing waits on the FIFO.
      execFileSync('sh', ['-c', `exec 3<>"$1"`, 'sh', fifo]);
    }
  });

  it('two starts of the same volume at once: both 0, one cryptsetup open', async (ctx) => {
    const scene = await sceneFor(ctx, 'same-twice');
    const vol = await scene.addVolume('data');
    const [a, b] = await Promise.all([scene.run(['start', 'data']), scene.run(['start', 'data'])]);
    const codes = `${a.code ?? a.signal}, ${b.code ?? b.signal}`;
    // Either may win the lock: show the one that opened the volume (the other found it mounted), whichever it was.
    const opener = [a, b].find((r) => r.stdout.includes('"msg":"opened ')) ?? a;
    const observed = scene.observe(opener, await scene.mountedOnly(vol), await scene.noSecret(a, b));
    faultRow(ctx, { area: 'concurrency', fault: 'two starts of the same volume at once', injectedIn: 'host', exitCode: 0, expected: 'both 0, opened and mounted once' },
      { ...observed, exitCode: a.code === b.code ? a.code : codes });
    const opens = (await scene.sys.calls()).filter((c) => c.args[0] === 'open' && !c.args.includes('--test-passphrase'));
    ctx.expect(opens).toHaveLength(1);
    ctx.expect([a, b].map((r) => r.stdout.includes('is already open and mounted')).sort()).toEqual([false, true]);
  });

  it('starts of two volumes at once: both mounted', async (ctx) => {
    const scene = await sceneFor(ctx, 'two-vols');
    const [one, two] = [await scene.addVolume('one'), await scene.addVolume('two')];
    const [a, b] = await Promise.all([scene.run(['start', 'one']), scene.run(['start', 'two'])]);
    const both = await scene.mountedOnly(one);
    both.problems.push(...(await scene.mountedOnly(two)).problems);
    faultRow(ctx, { area: 'concurrency', fault: 'starts of two different volumes at once', injectedIn: 'host', exitCode: 0, expected: 'both mounted' },
      { ...scene.observe(a, { ...both, what: 'both mounted once; devices, other volume' }, await scene.noSecret(a, b)), exitCode: a.code === b.code ? a.code : `${a.code}, ${b.code}` });
  });

  type Step = 'device' | 'key' | 'open' | 'mount';
  /** How long start may take to reach the step, and to end once signalled (a SIGTERM'd start ends its children first). */
  const REACH_MS = 30_000;
  const KILLED_EXIT_MS = 15_000;

  /** True once `pid` has ended (a zombie counts as ended: nobody may be left to reap an orphan here). */
  async function ended(pid: number): Promise<boolean> {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    return stat === undefined || / Z /.test(stat.slice(stat.lastIndexOf(')')));
  }

  /**
   * Runs start until it reaches `step` and kills it with `signal`. A paused cryptsetup or mount is then let go: after
   * SIGTERM the CLI has told it to end on the way out (src/exec/children.ts), which ends mount, while cryptsetup, as
   * the real one does, finishes the open it began; after SIGKILL either is an orphan that finishes its work. Then
   * start runs again.
   * The killed start's own bound lies well past the wait for the step, so the harness's SIGKILL at that bound is never
   * read as the test's signal: a start that outlives the signal says so (CI once saw SIGKILL where SIGTERM was sent).
   */
  async function killThenStart(scene: StartScene, vol: Volume, signal: NodeJS.Signals, step: Step): Promise<{ killed: CliResult; again: CliResult; exitAfterKillMs: number; mountsByKilled: number; whileOpening?: { alive: boolean; hostLockHeld: boolean } }> {
    const paused = join(scene.sys.state, `${step}-paused`);
    if (step === 'key') scene.emulator.faults.set({ latencyMs: { 'ssm:GetParameter': 60_000 } });
    else if (step !== 'device') await writeFile(join(scene.sys.state, `pause-${step}`), '');
    // The device wait has no program to pause: under a unit (NOTIFY_SOCKET) start says what it waits for once the
    // wait has lasted STATUS_QUIET_MS, through systemd-notify (the fake records it), and the device is attached
    // only after the kill.
    const waiting = async () => (await scene.sys.calls()).some((c) => c.program === 'systemd-notify' && c.args.some((a) => a.startsWith('--status=waiting for ')));
    const reached = step === 'key' ? async () => scene.emulator.requests().some((r) => r.action === 'GetParameter')
      : step === 'device' ? waiting : () => exists(paused);
    let pid: number | undefined;
    const underUnit = step === 'device' ? { env: { extra: { NOTIFY_SOCKET: join(scene.ws.dir, 'notify') } } } : {};
    const running = scene.run(['start', vol.name], { ...underUnit, onSpawn: (p) => (pid = p), timeoutMs: REACH_MS + KILLED_EXIT_MS });
    let settled = false;
    void running.then(() => (settled = true));
    await waitFor(`start to reach ${step}`, reached, REACH_MS);
    process.kill(pid!, signal);
    const killedAt = performance.now();
    let whileOpening: { alive: boolean; hostLockHeld: boolean } | undefined;
    if (signal === 'SIGTERM' && step === 'open') {
      // Told to end, cryptsetup finishes its open (paused here): the start waits for it, keeping its locks, so a next
      // start cannot race the open. Before: it ended at once and let go of the host lock (src/exec/children.ts).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      whileOpening = { alive: !settled, hostLockHeld: !canLock(join(scene.ws.runDir, 'lock')) };
      await rm(join(scene.sys.state, 'pause-open'));
      await writeFile(join(scene.sys.state, 'resume-open'), '');
    }
    const killed = await running;
    const exitAfterKillMs = performance.now() - killedAt;
    if (step === 'key') {
      scene.emulator.faults.reset();
    } else if (step === 'device') {
      await scene.attach(vol);
    } else {
      const child = Number(await readFile(paused, 'utf8'));
      await rm(join(scene.sys.state, `pause-${step}`), { force: true });
      await writeFile(join(scene.sys.state, `resume-${step}`), '');
      await waitFor(`the paused ${step} (pid ${child}) to end`, () => ended(child));
    }
    // The killed start's own mounts (the fake records every run): after a SIGTERM it starts no program, mount included.
    const mountsByKilled = (await scene.sys.calls()).filter((c) => c.program === 'mount').length;
    return { killed, again: await scene.run(['start', vol.name]), exitAfterKillMs, mountsByKilled, ...(whileOpening ? { whileOpening } : {}) };
  }

  /** Whether the lock `path` is free now (the real flock(1), not the fakes on the CLI's PATH). */
  function canLock(path: string): boolean {
    try {
      execFileSync('/usr/bin/flock', ['--nonblock', path, 'true'], { stdio: 'ignore', timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  }

  const steps: Array<[NodeJS.Signals, Step]> = [['SIGTERM', 'device'], ['SIGKILL', 'device'], ['SIGTERM', 'key'], ['SIGKILL', 'key'], ['SIGTERM', 'open'], ['SIGKILL', 'open'], ['SIGTERM', 'mount'], ['SIGKILL', 'mount']];
  // The longest a failing case takes: the wait for the step, the killed start's bound, the next start's bound.
  it.for(steps)('%s while start waits for %s: the next start mounts', { timeout: REACH_MS + KILLED_EXIT_MS + 2 * CLI_TIMEOUT_MS + 10_000 }, async ([signal, step], ctx) => {
    const scene = await sceneFor(ctx, `kill-${step}`);
    const vol = await scene.addVolume('data', { DEVICE_TIMEOUT_SEC: '20' }, { device: step !== 'device' });
    const { killed, again, exitAfterKillMs, mountsByKilled, whileOpening } = await killThenStart(scene, vol, signal, step);
    ctx.expect(killed.timedOut, `start outlived ${signal} by ${Math.round(exitAfterKillMs)} ms (the test's bound ended it)`).toBe(false);
    ctx.expect(killed.signal).toBe(signal);
    if (signal === 'SIGTERM' && step === 'open') ctx.expect([whileOpening, mountsByKilled]).toEqual([{ alive: true, hostLockHeld: true }, 0]);
    // Killed while waiting for the device: only the second start asked for the key.
    if (step === 'device') ctx.expect(scene.emulator.requests().filter((r) => r.action === 'GetParameter')).toHaveLength(1);
    const when = { device: 'the wait for the device', key: 'the key (GetParameter in flight)', open: 'cryptsetup open', mount: 'mount' }[step];
    faultRow(ctx, { area: 'signals', fault: `${signal} during ${when}, then start again`, injectedIn: 'host', exitCode: 0, expected: 'killed; the next start mounts' },
      scene.observe(again, await scene.mountedOnly(vol), await scene.noSecret(killed, again)));
  });

  it('a SIGTERM landing as a signal listener is removed is never lost: none is removed while start runs, or the signal ends it', async (ctx) => {
    const scene = await sceneFor(ctx, 'signal-as-listener-goes');
    const vol = await scene.addVolume('data');
    const log = join(scene.ws.dir, 'signal-log');
    const hook = fileURLToPath(new URL('../../support/signal-as-listener-goes.mjs', import.meta.url));
    const result = await scene.run(['start', 'data'], { env: { extra: { LUKS_SSM_TEST_SIGNAL_LOG: log } }, nodeArgs: ['--import', hook] });
    const removed = (await readFile(log, 'utf8').catch(() => '')).trim();
    // Before the fix: execa's clean-up removed its signal listeners as the first program ended, the hook's SIGTERM was
    // dropped, and start mounted the volume (exit 0) as if never told to stop.
    const outcome = removed === '' ? `nothing removed, exit ${result.code}` : `${removed} listener removed, ended by ${result.signal ?? `exit ${result.code}`}`;
    ctx.expect(outcome).toMatch(/^(nothing removed, exit 0|SIG[A-Z]+ listener removed, ended by SIGTERM)$/);
    if (removed === '') ctx.expect((await scene.mountedOnly(vol)).problems).toEqual([]);
  });

  it('/run full (a 64 KiB tmpfs with no byte left): mounted, with a warning that status will not name the version', async (ctx) => {
    const scene = await sceneFor(ctx, 'run-full');
    const vol = await scene.addVolume('data');
    await mkdir(scene.ws.runDir, { mode: 0o700 });
    ctx.skip(!fullTmpfs(scene.ws.runDir), 'cannot mount a tmpfs here');
    ctx.onTestFinished(() => {
      execFileSync('umount', [scene.ws.runDir], { stdio: 'ignore', timeout: 10_000 });
    });
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'run dir', fault: '/run full (no space left)', injectedIn: 'host', exitCode: 0, expected: 'mounts, warns (the unlock record is only for status)' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
    ctx.expect(firstLineOf(result)).toMatch(/^Failed to write the unlock record in \S+ \(ENOSPC\), ignoring/);
    ctx.expect((await readdir(scene.ws.runDir)).filter((f) => f.startsWith('data.json'))).toEqual([]);
  });

  const configs: Array<[string, (scene: StartScene, vol: Volume) => Promise<void>, RegExp]> = [
    ['malformed config (a line without =)', (_s, vol) => writeFile(vol.config, 'LUKS_DEVICE=/dev/data\njust some words, no equals sign\n'), /:2: /],
    ['world-writable config', (_s, vol) => chmod(vol.config, 0o666), /writable by group\/others \(mode 0666\), refusing; run: chmod go-w /],
    ['symlinked config', async (s, vol) => {
      const real = join(s.ws.dir, 'elsewhere.conf');
      await rename(vol.config, real);
      await symlink(real, vol.config);
    }, /a symlink, refusing/],
  ];
  it.for(configs)('%s: 78, nothing touched', async ([fault, spoil, line], ctx) => {
    const scene = await sceneFor(ctx, 'config');
    const vol = await scene.addVolume('data');
    await spoil(scene, vol);
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'config', fault, injectedIn: 'host', exitCode: 78, expected: 'refuses, names file (and line)' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(line);
  });
});
