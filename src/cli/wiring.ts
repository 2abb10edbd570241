// The composition root: builds the real runner, clock, lock, key source and D-Bus lookups for one CLI run.
import { DEFAULT_EXEC_PATH } from '../exec/exec-path.ts';
import { deferKeySource } from '../secret/source.ts';
import type { SystemdBus } from '../systemd/bus.ts';
import { findActiveDependents, nameHolders } from '../systemd/dependents.ts';
import { createStatusLine } from '../systemd/notify.ts';
import type { VolumeDeps } from '../volume/deps.ts';
import type { Clock, Logger, Runner } from '../types.ts';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/**
 * Connects to systemd at most once per run, and only when something asks. Modules a verb may not need (D-Bus,
 * execa, the AWS SDK) are loaded on first use: start-up time is boot time (see scripts/bench.mjs).
 */
export function createLazyBus(): { get(): Promise<SystemdBus | undefined>; close(): void } {
  let pending: Promise<SystemdBus | undefined> | undefined;
  return {
    get: () => (pending ??= import('../systemd/bus.ts').then((m) => m.connectSystemd())),
    close: () => void pending?.then((bus) => bus?.close()),
  };
}

export interface WiringOptions {
  env: Record<string, string | undefined>;
  log: Logger;
  runDir: string;
  bus: ReturnType<typeof createLazyBus>;
}

/**
 * Programs are found on a fixed system path, never the caller's PATH (at boot its first entry is
 * /usr/local/sbin). LUKS_SSM_TEST_EXEC_PATH puts test fakes first: /usr/sbin/luks-ssm does not pass it on and
 * the unit unsets it, so only a run of the bundle that bypasses the launcher (the tests) can set it.
 */
export function execSearchPath(env: Record<string, string | undefined>): string {
  const fakes = env.LUKS_SSM_TEST_EXEC_PATH;
  return fakes ? `${fakes}:${DEFAULT_EXEC_PATH}` : DEFAULT_EXEC_PATH;
}

/** Every system path can be overridden through the environment, as systemd's own tools allow. */
export function createVolumeDeps(opts: WiringOptions): VolumeDeps {
  const { env, log, runDir, bus } = opts;
  const run = createLazyRunner(execSearchPath(env));
  const sourceDeps = { env, clock: systemClock, log, run, devRoot: env.LUKS_SSM_DEV_ROOT };
  const keySources = () => import('../lifecycle/key-source.ts');
  return {
    run,
    clock: systemClock,
    log,
    runDir,
    devRoot: env.LUKS_SSM_DEV_ROOT,
    mountinfoPath: env.LUKS_SSM_MOUNTINFO,
    procRoot: env.LUKS_SSM_PROC_ROOT,
    sysRoot: env.LUKS_SSM_SYS_ROOT,
    // run-lock.ts pulls in execa (through exec/run.ts): fetch and status never take the lock.
    acquireLock: async (deadline) => (await import('../volume/run-lock.ts')).acquireRunLock({ dir: runDir, timeoutMs: Math.max(1, deadline - Date.now()), run }),
    runUnderHostLock: (deadline) => async (file, args, options) =>
      (await import('../volume/locked-run.ts')).runnerUnderLock({ dir: runDir, deadline, now: Date.now, run })(file, args, options),
    acquireVolumeLock: async (config, deadline, device) => {
      const [{ acquireRunLocks, volumeLockNames }, { deviceLockNameOf }] = await Promise.all([import('../volume/run-lock.ts'), import('../volume/device-lock.ts')]);
      const deviceLock = device === undefined ? undefined : await deviceLockNameOf(device);
      const locks = await acquireRunLocks({ dir: runDir, names: volumeLockNames(config), alsoTry: deviceLock, deadline, now: Date.now, run });
      return { release: locks.release, ...(locks.waited ? { waited: locks.waited } : {}), ...(locks.also && deviceLock ? { device: { name: deviceLock, lock: locks.also } } : {}) };
    },
    acquireDeviceLock: async (device, holder, deadline, early) =>
      (await import('../volume/device-lock.ts')).acquireDeviceLock({ dir: runDir, device, holder, deadline, now: Date.now, run, early }),
    sharedSettings: async (config) => (await import('../config/shared.ts')).settingsSharedWithOthers(config, {
      confDir: env.LUKS_SSM_CONF_DIR ?? '/etc/luks-ssm', defaultsFile: env.LUKS_SSM_DEFAULTS ?? '/etc/default/luks-ssm', env,
    }),
    keySource: (config) => deferKeySource(async () => (await keySources()).createKeySource(config, sourceDeps)),
    awsAccess: async (config, deadline) => (await import('../volume/check-aws.ts')).checkAwsAccess(config, sourceDeps, deadline),
    kmsKeyState: async (config, deadline) => (await keySources()).checkVolumeKmsKey(config, sourceDeps, deadline),
    imdsExposure: async (config) => {
      const { imdsDisabled, imdsEndpointOf } = await import('../aws/imds.ts');
      if (imdsDisabled(env)) return { checked: false, why: 'not used (AWS_EC2_METADATA_DISABLED=true)' };
      const endpoint = imdsEndpointOf(config.endpoints.imds, env);
      const { probeImdsAsNobody } = await import('../aws/imds-exposure.ts');
      return { endpoint, ...(await probeImdsAsNobody(run, endpoint, { uid: process.getuid?.() ?? -1, node: process.execPath })) };
    },
    activeDependents: async (units) => findActiveDependents(await bus.get(), units),
    // A person answers through systemd's password agents (PATH as for the runner): start when AWS fails, enroll
    // --add-to-existing for the existing passphrase at a terminal.
    askPassword: async (opts) => {
      const [{ createAskPassword }, { runForSecret }] = await Promise.all([import('../systemd/ask-password.ts'), import('../exec/run.ts')]);
      return createAskPassword((file, args, o) => runForSecret(file, args, o, execSearchPath(env)))(opts);
    },
    statusLine: createStatusLine(run, env.NOTIFY_SOCKET, { onError: (problem) => log.debug({ problem }, `Failed to update the service status line: ${problem}`) }),
    unitOfPid: async (pid) => (await nameHolders(await bus.get(), [pid]))[0]?.unit,
  };
}

function createLazyRunner(path: string): Runner {
  let runner: Promise<Runner> | undefined;
  return async (file, args, options) => {
    runner ??= import('../exec/run.ts').then((m) => m.createRunner({ path }));
    return (await runner)(file, args, options);
  };
}
