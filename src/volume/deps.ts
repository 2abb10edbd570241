// What start/stop/status need from the outside world, passed in so tests fake it at the boundary.
import type { ImdsExposure } from '../aws/imds-exposure.ts';
import type { SharedSetting } from '../config/shared.ts';
import type { KeySource } from '../secret/source.ts';
import type { AskPassword } from '../systemd/ask-password.ts';
import type { StatusLine } from '../systemd/notify.ts';
import type { Clock, Logger, Runner, VolumeConfig } from '../types.ts';
import type { EarlyDeviceLock } from './device-lock.ts';

export interface RunLock {
  release(): Promise<void>;
}

export interface VolumeDeps {
  run: Runner;
  clock: Clock;
  log: Logger;
  /** /run/luks-ssm: the run lock and the unlock records. */
  runDir: string;
  /** Overrides for tests; the real /dev, /proc/self/mountinfo, /proc and /sys otherwise. */
  devRoot?: string;
  mountinfoPath?: string;
  procRoot?: string;
  sysRoot?: string;
  /** udev's database of block devices (/run/udev/data). */
  udevDataDir?: string;
  /** selinuxfs (/sys/fs/selinux). */
  selinuxRoot?: string;
  /** /etc/crypttab, which check reads for a line that opens the same disk. */
  crypttabPath?: string;
  /** What the volume's config shares with the other volumes' (check, enroll and rotate refuse it). */
  sharedSettings?: (config: VolumeConfig) => Promise<SharedSetting[]>;
  /** The host lock, held only around key-slot work (argon2 can take GiBs); gives up at `deadline` (epoch ms). */
  acquireLock(deadline: number): Promise<RunLock>;
  /**
   * A Runner whose every call runs under the host lock, taken by the same spawn (one process, not two: issue #13); the
   * wait gives up at `deadline` with LOCKED, and the call's timeoutMs bounds the wait and the program together.
   */
  runUnderHostLock(deadline: number): Runner;
  /**
   * The locks of one volume's run (its name, mapping and mount point), held for the whole run; gives up at `deadline`.
   * With `device` (as it is before the run looked for it), its device lock is tried in the same process: `device`.
   */
  acquireVolumeLock(config: VolumeConfig, deadline: number, device?: string): Promise<RunLock & { device?: EarlyDeviceLock; waited?: true }>;
  /**
   * The lock of the resolved `device` (its device number), for `holder`'s run: configs naming one disk by different
   * names exclude each other. Taken after the volume locks, before the host lock (order: src/volume/device-lock.ts);
   * `early` is kept when it is this device's.
   */
  acquireDeviceLock(device: string, holder: string, deadline: number, early?: EarlyDeviceLock): Promise<RunLock>;
  keySource(config: VolumeConfig): KeySource;
  /** check's aws step: region, credentials and endpoints, one line naming where each came from (throws what start would meet). */
  awsAccess?(config: VolumeConfig, deadline: number): Promise<string>;
  /** check's kms-key step: the state of the KMS key behind the passphrase, one line (throws for an unusable key). */
  kmsKeyState?(config: VolumeConfig, deadline: number): Promise<string>;
  /** check's imds step: whether a user other than root can get an instance metadata token (README "Security"). */
  imdsExposure?(config: VolumeConfig): Promise<ImdsExposure & { endpoint?: string }>;
  /** Those of `units` that are active or activating (empty when systemd is not reachable). */
  activeDependents(units: string[]): Promise<string[]>;
  /** The systemd unit a process belongs to, when systemd is reachable. */
  unitOfPid(pid: number): Promise<string | undefined>;
  /** Asks a person through systemd's password agents (start when AWS fails; enroll for the existing key); absent: nobody is asked. */
  askPassword?: AskPassword;
  /** The unit's STATUS= line; absent outside a service. */
  statusLine?: StatusLine;
}
