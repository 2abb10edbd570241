// `check`: a pre-flight that changes nothing — each step ok/FAIL with the fix, stopping at the first failure.
import { PROBE_UID, type ImdsExposure } from '../aws/imds-exposure.ts';
import { refuseSharedSettings } from '../config/shared.ts';
import { isUnlockError, printable, UnlockError } from '../errors.ts';
import { resolveDevice } from '../device/resolve.ts';
import { refuseIfIdAmbiguous } from '../device/same-id.ts';
import { isLuks } from '../luks/cryptsetup.ts';
import { checkMountPoint } from '../mount/mount-point.ts';
import { slotOpenedBy } from '../luks/keyslots.ts';
import { describeRecovery, readRecoverySlots } from '../luks/recovery-token.ts';
import { endsWithNewline, TRAILING_NEWLINE_HINT, withSecret, type Secret } from '../secret/secret.ts';
import { CRYPTTAB_PATH, readCrypttab, type CrypttabEntry } from '../systemd/crypttab.ts';
import type { RunLock, VolumeDeps } from './deps.ts';
import { denyExecmem } from './selinux.ts';
import { explainTooCostly, slotCost } from './slot-cost.ts';
import { inspectVolume } from './inspect.ts';
import { describeStacked, inUseHint, othersOn, refuseForeignMountAtTarget } from './start-refusals.ts';
import type { VolumeConfig } from '../types.ts';

export interface CheckStep {
  name: string;
  ok: boolean;
  /** Passed, but something needs doing (an interrupted rotation, a costly key slot): printed as `warn`, exit 0. */
  warn?: boolean;
  detail: string;
  hint?: string;
}

export interface CheckReport {
  steps: CheckStep[];
  /** The first failure, whose exit code the verb returns. */
  failure: UnlockError | undefined;
}

type Opened = { fetched: string; slot: number; ms: number };
type Warning = { warn: true; detail: string; hint: string };
type Step = { name: string; run: () => Promise<string | Warning> };

/** `onStep` is called as each step ends, so the caller can print it then (a device wait is not 30 s of silence). */
export async function checkVolume(deps: VolumeDeps, config: VolumeConfig, onStep?: (step: CheckStep) => void): Promise<CheckReport> {
  const deadline = deps.clock.now() + config.timeoutSec * 1000;
  let device = '';
  /** Which key slot the key step's key opened, and how long cryptsetup took to say so. */
  let opened: Opened | undefined;
  const deny = await denyExecmem(deps.selinuxRoot);
  const crypttab = await readCrypttab(deps.crypttabPath);
  const steps: Step[] = [
    {
      name: 'config',
      run: async () => {
        // A copied config's leftovers. The generator gives a mount point or mapping to one volume only: a failure.
        // A shared parameter boots, but enroll and rotate refuse it (each rotation would leave the other behind).
        const shared = (await deps.sharedSettings?.(config)) ?? [];
        refuseSharedSettings(config, shared.filter((s) => s.key !== 'SSM_PATH'));
        const parameter = shared.filter((s) => s.key === 'SSM_PATH');
        if (parameter.length === 0) return config.sources.join(', ');
        return {
          warn: true,
          detail: `${config.sources.join(', ')}; SSM_PATH=${config.ssmPath} is also the parameter of ${parameter.map((s) => `'${s.volume}' (${s.file})`).join(', ')}: rotate and enroll refuse it, as a rotation of one would leave the other's key slot behind`,
          hint: `give volume '${config.volume}' its own SSM_PATH in ${config.sources.at(-1)}`,
        };
      },
    },
    // Only where SELinux has the boolean: elsewhere there is nothing to say.
    ...(deny === undefined ? [] : [{ name: 'selinux', run: async () => selinuxLine(deny) }]),
    {
      name: 'device',
      run: async () => {
        device = await resolveDevice(config.device, {
          deadline: Math.min(deadline, deps.clock.now() + config.deviceTimeoutSec * 1000),
          clock: deps.clock,
          devRoot: deps.devRoot,
          allowRegularFile: true,
        });
        // As start would (exit 89): a UUID= that a restored copy of the volume carries too names no one disk.
        await refuseIfIdAmbiguous(config.device, device, { sysRoot: deps.sysRoot, udevDataDir: deps.udevDataDir });
        const named = device === config.device ? device : `${config.device} -> ${device}`;
        // Open under another name now (a crypttab open being migrated): start refuses it until that is closed, but the
        // steps after this one test the key all the same (--test-passphrase works on an open disk).
        const others = await othersOn(device, config, deps.sysRoot);
        if (others === undefined || others.length === 0) return named;
        return {
          warn: true,
          detail: `${named}, open as ${describeStacked(others)} now: start refuses it (exit 88) while it is`,
          hint: await inUseHint(device, others, deps.crypttabPath),
        };
      },
    },
    // Only where /etc/crypttab has lines: a line for this disk makes systemd open it at boot before luks-ssm can.
    ...(crypttab.length === 0 ? [] : [{ name: 'crypttab', run: () => crypttabLine(deps, crypttab, device, config) }]),
    {
      name: 'luks',
      run: async () => {
        if (!(await isLuks(deps.run, device, { timeoutMs: Math.max(1, deadline - deps.clock.now()) }))) {
          throw new UnlockError('NOT_LUKS', `${device} is not a LUKS volume`, { hint: `check LUKS_DEVICE; a new, blank volume is made one with luks-ssm enroll ${config.volume} --format (start never formats a device)` });
        }
        return 'LUKS header found';
      },
    },
    {
      // What start refuses before any key is fetched (82), all decidable now: another filesystem mounted there, a
      // symlink on the path, entries that mounting would hide (review 16: the classic first-boot failures).
      name: 'mount',
      run: async () => {
        const state = await inspectVolume(deps.run, config, deps.mountinfoPath, deps.sysRoot);
        if (state.mountedHere) return `${config.mountPoint}: this volume is mounted there`;
        refuseForeignMountAtTarget(state, config);
        checkMountPoint(config.mountPoint, { allowNonEmpty: config.mountOverNonEmpty });
        return `${config.mountPoint}: start can mount there`;
      },
    },
    // Before any AWS call: a missing region or credentials, or a refused endpoint, is named as such, not as the first
    // AWS step's failure.
    ...(deps.awsAccess === undefined ? [] : [{ name: 'aws', run: () => deps.awsAccess!(config, deadline) }]),
    ...(deps.kmsKeyState === undefined ? [] : [{ name: 'kms-key', run: () => deps.kmsKeyState!(config, deadline) }]),
    {
      name: 'key',
      run: async () => {
        // Keys in start's order: an older one opening means start works, but a rotation was left unfinished.
        let first: string | undefined;
        let newline = false;
        for await (const key of deps.keySource(config).keys(deadline)) {
          const found = await withSecret(key.secret, async (secret) => {
            newline ||= endsWithNewline(secret);
            const fetched = `${key.source}${key.version === undefined ? '' : ` version ${key.version}`}${key.region ? ` (${key.region})` : ''}: ${secret.length} bytes`;
            first ??= fetched;
            const tested = await testUnderLocks(deps, config.volume, device, secret, deadline).catch(async (error: unknown) => {
              throw isUnlockError(error) && error.kind === 'SLOT_TOO_COSTLY' ? await explainTooCostly(deps, config, device, error, `test a key on ${device}`) : error;
            });
            return tested.slot === undefined ? undefined : { fetched, slot: tested.slot, ms: tested.ms };
          });
          if (found === undefined) continue;
          opened = found;
          if (found.fetched === first) return `${found.fetched}, opens key slot ${found.slot} of ${device}`;
          return {
            warn: true,
            detail: `${first}, opens no keyslot of ${device}, but the earlier ${found.fetched} does: an interrupted rotation, which start falls back from at every boot`,
            hint: `run luks-ssm rotate ${config.volume} to finish it`,
          };
        }
        if (first === undefined) throw new UnlockError('INTERNAL', `${deps.keySource(config).description} offered no key`);
        throw new UnlockError('WRONG_PASSPHRASE', `${first}, but it opens no keyslot of ${device}`, {
          hint: newline ? TRAILING_NEWLINE_HINT : 'the parameter holds a different passphrase: check SSM_PATH and the parameter version',
        });
      },
    },
    {
      name: 'keyslot',
      run: async () => {
        const { slot, ms } = opened as Opened;
        const cost = await slotCost(deps, config, device, slot, ms);
        if (cost.verdict === 'fail') throw new UnlockError('SLOT_TOO_COSTLY', cost.detail, { hint: cost.hint as string });
        return cost.verdict === 'warn' ? { warn: true, detail: cost.detail, hint: cost.hint as string } : cost.detail;
      },
    },
    // Information only: a volume without a recovery key works, it just has no way in when AWS does not answer.
    { name: 'recovery', run: async () => describeRecovery(await readRecoverySlots(deps.run, device), config.volume) },
    ...(deps.imdsExposure === undefined ? [] : [{ name: 'imds', run: async () => describeImdsExposure(await deps.imdsExposure!(config)) }]),
  ];

  const report: CheckReport = { steps: [], failure: undefined };
  for (const step of steps) {
    let done: CheckStep;
    try {
      const result = await step.run();
      done = typeof result === 'string' ? { name: step.name, ok: true, detail: result } : { name: step.name, ok: true, ...result };
    } catch (error) {
      if (!isUnlockError(error)) throw error;
      done = { name: step.name, ok: false, detail: error.message, hint: error.hint };
      report.failure = error;
    }
    report.steps.push(done);
    onStep?.(done);
    if (report.failure) break;
  }
  return report;
}

/**
 * --test-passphrase runs the slot's argon2 (GiBs each) like an open: under the host lock, as start's and the
 * lifecycle verbs' key-slot work, and under the device lock, so a rotation through another config naming this disk
 * cannot change its key slots under the test. Only here: a check held in AWS retries must not hold up a stop or start
 * of that disk (nor another check) for its whole TIMEOUT_SEC. Timed from when cryptsetup starts, not from the waits.
 */
async function testUnderLocks(deps: VolumeDeps, volume: string, device: string, secret: Secret, deadline: number): Promise<{ slot: number | undefined; ms: number }> {
  const deviceLock = await deps.acquireDeviceLock(device, volume, deadline);
  try {
    const hostLock = await deps.acquireLock(deadline);
    try {
      const started = deps.clock.now();
      const slot = await slotOpenedBy(deps.run, device, secret);
      return { slot, ms: deps.clock.now() - started };
    } finally {
      await hostLock.release();
    }
  } finally {
    await deviceLock.release();
  }
}

/** Warns, not fails: the volume opens today (the device step found it free); it is the next boot that goes wrong. */
async function crypttabLine(deps: VolumeDeps, entries: CrypttabEntry[], device: string, config: VolumeConfig): Promise<string | Warning> {
  const path = deps.crypttabPath ?? CRYPTTAB_PATH;
  for (const entry of entries) {
    // Only what can name a disk at boot (a /dev path, UUID=…): a path elsewhere could hang a stat on a dead network mount.
    if (!entry.device.startsWith('/dev/') && !/^[A-Z]+=/.test(entry.device)) continue;
    // As it is now, no waiting: a device not there, or a spec luks-ssm does not take, is not this disk.
    const named = await resolveDevice(entry.device, { deadline: 0, clock: deps.clock, devRoot: deps.devRoot }).catch(() => undefined);
    if (named !== device) continue;
    const name = printable(entry.name);
    const when = entry.noauto
      ? `noauto: not opened by cryptsetup.target, but at boot all the same if anything needs /dev/mapper/${name} (an old fstab line)`
      : 'at boot systemd opens it (with that line\'s key file, or asking on the console)';
    const then = entry.name === config.mapName
      ? `as ${name}, this volume's own mapping: luks-ssm then only mounts what it did not unlock`
      : `as ${name}: luks-ssm then refuses the disk (exit 88)`;
    return {
      warn: true,
      detail: `${path}:${entry.line} names ${device} too (${printable(entry.device)}): ${when}, before luks-ssm, ${then}`,
      hint: `remove line ${entry.line} of ${path}: luks-ssm opens this disk (then systemctl daemon-reload)`,
    };
  }
  return `no line of ${path} names ${device}`;
}

/** Warns, not fails: check itself runs under Node, so where the boolean bites, it is the service that would fail. */
function selinuxLine(deny: boolean): string | Warning {
  if (!deny) return 'deny_execmem is off (Node\'s JIT needs execmem)';
  return {
    warn: true,
    detail: 'deny_execmem is on: Node\'s JIT needs execmem, so luks-ssm@.service and the generator (unconfined_service_t) fail at boot',
    hint: 'setsebool -P deny_execmem off',
  };
}

/** Information, never a failure: on EC2, by default, every local process can reach IMDS (README "Security"). */
function describeImdsExposure(exposure: ImdsExposure & { endpoint?: string }): string | Warning {
  if (!exposure.checked) return exposure.why;
  const at = exposure.endpoint ?? 'instance metadata';
  if (!exposure.reachable) return `a non-root user (uid ${PROBE_UID}) gets no token from ${at} (${exposure.answer})`;
  return {
    warn: true,
    detail: `a non-root user (uid ${PROBE_UID}) got a token from ${at}: any local process can take the instance role's credentials and read the passphrase`,
    hint: `let only root reach it: iptables -A OUTPUT -d 169.254.169.254 -p tcp -m owner ! --uid-owner 0 -j REJECT (made persistent, e.g. with iptables-persistent)`,
  };
}

/** One step's line, and its fix line when it has one. */
export function formatCheckStep(s: CheckStep): string {
  // Details quote outside text (AWS messages, a probe's answer): each stays one line, shown, never obeyed.
  return `${s.ok ? (s.warn ? 'warn' : 'ok  ') : 'FAIL'}  ${s.name.padEnd(8)} ${printable(s.detail)}${s.hint ? `\n      fix: ${printable(s.hint)}` : ''}\n`;
}

export function formatCheckReport(report: CheckReport): string {
  return report.steps.map(formatCheckStep).join('');
}
