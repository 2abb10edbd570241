// What a VM scenario is and what it gets: the shared guest, the emulator, the run's passphrase and paths.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmEmulator } from './aws.ts';
import { HarnessError } from './errors.ts';
import { DEFAULT_DISTRO, type Distro } from './image.ts';
import type { ScriptResult } from './share.ts';
import type { Vm } from './vm.ts';

export interface ScenarioContext {
  vm: Vm;
  /** The guest's Debian release (--distro). */
  distro: Distro;
  /** Boots the guest (plain boot script) if no boot is running, e.g. after an earlier failure killed it. */
  ensureBooted(): Promise<void>;
  /** The running emulator; throws when it could not be loaded. */
  emulator(): VmEmulator;
  /** Stops the emulator (the guest then gets connection refused at 10.0.2.2:<port>). */
  stopEmulator(): Promise<void>;
  /** Starts it again on the same port with the run's key and parameter. */
  restartEmulator(): Promise<void>;
  /** The run's random passphrase (base64 text as bytes): in the emulator and the data disk's keyslot only. */
  passphrase: Buffer;
  /** The luks-ssm .deb to install, when one was found. */
  deb: string | undefined;
  workDir: string;
  shareDir: string;
  overlay: string;
  progress(line: string): void;
}

/** A disk a scenario needs made on the host before the run's first boot; attached to every boot of the run. */
export interface HostDisk {
  /** EBS-style serial: the guest sees /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<serial>. */
  serial: string;
  /** Writes the disk file at `path` (e.g. a LUKS volume with a PBKDF the guest could not make itself). */
  make(path: string): Promise<void>;
}

export interface Scenario {
  name: string;
  /** Needs the luks-ssm .deb (and the emulator): fails with a clear reason when it is missing. */
  needsProduct: boolean;
  /** The releases whose suite runs it; default [DEFAULT_DISTRO] (Debian 12 keeps the full set). */
  distros?: readonly Distro[];
  /** Disks made on the host and attached only to runs that select this scenario. */
  hostDisks?: readonly HostDisk[];
  run(ctx: ScenarioContext): Promise<void>;
}

export function scenarioDistros(scenario: Scenario): readonly Distro[] {
  return scenario.distros ?? [DEFAULT_DISTRO];
}

/** Throws an assertion failure with `message` unless `condition` holds. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function tail(text: string, lines = 6): string {
  return text.trimEnd().split('\n').slice(-lines).join(' | ');
}

/** Fails unless a guest script exited 0; the reason carries the script's last stderr (or stdout) lines. */
export function expectSuccess(result: ScriptResult, what: string): ScriptResult {
  if (result.status !== 0) {
    const detail = tail(result.stderr) || tail(result.stdout);
    throw new Error(`${what}: exit ${result.status}${result.status === 124 ? ' (guest-side timeout)' : ''}: ${detail}`);
  }
  return result;
}

/** True when a failure means the guest is in an unknown state (timeout, QEMU gone) and should be restarted. */
export function isHarnessFailure(error: unknown): boolean {
  return error instanceof HarnessError;
}

const SCENARIO_DIR = new URL('../scenarios/', import.meta.url).pathname;

/** A step script: a scenario's guest .sh file (shell functions) followed by the call of one of them. */
export function guestScript(file: string, call: string): string {
  return `${readFileSync(join(SCENARIO_DIR, file), 'utf8')}\n${call}\n`;
}
