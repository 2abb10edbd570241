// `enroll --format`: prove a device is blank, then luksFormat it as LUKS2 and (optionally) make a filesystem.
import { open } from 'node:fs/promises';
import { UnlockError } from '../errors.ts';
import type { Secret } from '../secret/secret.ts';
import type { PbkdfSettings, Runner } from '../types.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';
import { cryptsetupError, describeFailure } from './exit-status.ts';
import { pbkdfArgs } from './kdf.ts';

/** A fresh EBS volume reads as zeros; data without a signature (plain dm-crypt, a raw image) does not. */
export const ZERO_CHECK_BYTES = 1024 * 1024;
const FORMAT_TIMEOUT_MS = 300_000;

export interface DeviceContents {
  /** What wipefs(8) recognises: filesystem, RAID, LUKS or partition-table signatures ("ext4", "crypto_LUKS", "gpt"). */
  signatures: string[];
  /** True when the first ZERO_CHECK_BYTES are not all zero. */
  hasData: boolean;
}

/** `wipefs --no-act --json` lists every signature without changing anything, then the first MiB is read. */
export async function probeDevice(run: Runner, device: string): Promise<DeviceContents> {
  const result = await run('wipefs', ['--no-act', '--json', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) {
    throw new UnlockError('SYSTEM', `Failed to probe ${device} for signatures: ${describeFailure(result).replace(/^wipefs: (error: )?/, '')}`);
  }
  let signatures: string[] = [];
  if (result.stdout.trim() !== '') {
    const doc = JSON.parse(result.stdout) as { signatures?: Array<{ type?: string }> };
    signatures = [...new Set((doc.signatures ?? []).map((s) => s.type ?? 'unknown'))];
  }
  return { signatures, hasData: await hasNonZeroStart(device) };
}

/**
 * True when the first ZERO_CHECK_BYTES of the LUKS data area (the ciphertext, after the header; luksDump's "Data
 * segments" offset) are not all zero. luksFormat leaves that area as it was, so on a blank device it stays zero
 * until something writes through the mapping: a filesystem always writes its superblock there.
 */
export async function hasDataInSegment(run: Runner, device: string): Promise<boolean> {
  const result = await run('cryptsetup', ['luksDump', '--', device], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS });
  if (result.exitCode !== 0 || result.timedOut) throw cryptsetupError(`read the data offset of ${device}`, device, result);
  const offset = /^Data segments:\s*\n {2}\d+: \S+\s*\n\toffset:\s*(\d+) \[bytes\]/m.exec(result.stdout)?.[1]
    // LUKS1's header says "Payload offset: <sectors>".
    ?? String(Number(/^Payload offset:\s*(\d+)/m.exec(result.stdout)?.[1] ?? NaN) * 512);
  if (!/^\d+$/.test(offset)) throw new UnlockError('SYSTEM', `Failed to read the data offset of ${device}: cryptsetup luksDump shows no data segment`);
  return hasNonZeroStart(device, Number(offset));
}

async function hasNonZeroStart(device: string, position = 0): Promise<boolean> {
  const handle = await open(device, 'r').catch((error: unknown) => {
    throw new UnlockError('SYSTEM', `Failed to read ${device}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  });
  try {
    const buffer = Buffer.alloc(ZERO_CHECK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead).some((byte) => byte !== 0);
  } finally {
    await handle.close();
  }
}

/** "an ext4 signature", "crypto_LUKS and gpt signatures", "data in its first 1 MiB": for refusals. */
export function describeContents(contents: DeviceContents): string {
  const { signatures } = contents;
  if (signatures.length === 1) return `a ${signatures[0]} signature`;
  if (signatures.length > 1) return `${signatures.slice(0, -1).join(', ')} and ${signatures.at(-1)} signatures`;
  return contents.hasData ? 'data in its first 1 MiB (no known signature: plain dm-crypt or raw data?)' : 'nothing';
}

export function isBlank(contents: DeviceContents): boolean {
  return contents.signatures.length === 0 && !contents.hasData;
}

export interface FormatOptions {
  /** Unset: cryptsetup's default (argon2id, benchmarked). */
  pbkdf?: PbkdfSettings | undefined;
  /** A LUKS UUID chosen in advance (KMS enroll binds the ciphertext to it). */
  uuid?: string;
}

/** luksFormat LUKS2 with the key on stdin; --batch-mode skips the "type YES" prompt: callers checked isBlank. */
export async function formatLuks2(run: Runner, device: string, secret: Secret, opts: FormatOptions = {}): Promise<void> {
  const args = [
    'luksFormat', '--batch-mode', '--type', 'luks2', ...pbkdfArgs(opts.pbkdf),
    ...(opts.uuid === undefined ? [] : ['--uuid', opts.uuid]),
    '--key-file=-', '--', device,
  ];
  const result = await run('cryptsetup', args, { input: secret.bytes(), timeoutMs: FORMAT_TIMEOUT_MS });
  if (result.exitCode === 0 && !result.timedOut) return;
  throw cryptsetupError(`format ${device} as LUKS2`, device, result);
}

/** mkfs -t TYPE on an open mapping (only ever one that probeDevice found blank). */
export async function makeFilesystem(run: Runner, path: string, fsType: string): Promise<void> {
  const result = await run('mkfs', ['-t', fsType, '--', path], { timeoutMs: FORMAT_TIMEOUT_MS });
  if (result.exitCode === 0 && !result.timedOut) return;
  const detail = result.timedOut ? 'did not finish in time' : describeFailure(result).replace(/^cryptsetup exited/, 'mkfs exited');
  throw new UnlockError('SYSTEM', `Failed to make a ${fsType} filesystem on ${path}: ${detail}`, { hint: `check that mkfs.${fsType} is installed` });
}
