// The systemd generator: reads every /etc/luks-ssm/*.conf and writes its units; a bad config skips one volume, whose
// dependents are still made to wait for it (and fail with it).
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listConfiguredVolumes, loadVolumeConfig, readGuardKeys } from '../config/index.ts';
import type { VolumeConfig } from '../types.ts';
import { isValidInstance, isValidUnitName, mountUnitName, serviceNameOf } from './unit-name.ts';
import { renderGuardUnits, renderVolumeUnits, type UnitFile } from './unit-text.ts';

export const DEFAULT_CONF_DIR = '/etc/luks-ssm';
/** Longest file name (one path component) Linux filesystems take, in bytes (NAME_MAX, limits.h). */
export const NAME_MAX = 255;
export const DEFAULT_DEFAULTS_FILE = '/etc/default/luks-ssm';

export interface GeneratorOptions {
  /** LUKS_SSM_CONF_DIR, else /etc/luks-ssm. */
  confDir: string;
  /** LUKS_SSM_DEFAULTS, else /etc/default/luks-ssm. */
  defaultsFile: string;
  /** For the config's AWS_REGION fallback only. */
  env: Record<string, string | undefined>;
  /** Refuse config files not owned by root (default true; tests pass false). */
  requireRootOwned?: boolean;
  /** /etc/fstab (tests): a skipped volume's guard leaves the mount unit of a mount point it names to systemd-fstab-generator. */
  fstabPath?: string;
  /** One line per tolerated problem; the CLI sends these to stderr, which systemd logs for generators. */
  warn: (line: string) => void;
}

export interface GeneratorResult {
  /** Volumes whose units were written. */
  volumes: string[];
  /** Volumes left out because of a problem (each was reported through warn). */
  skipped: string[];
  /** Paths written, relative to the output directory. */
  files: string[];
}

/** The input paths, overridable through the environment so golden tests can point them at a fixture. */
export function generatorPathsFromEnv(env: Record<string, string | undefined>): Pick<GeneratorOptions, 'confDir' | 'defaultsFile'> {
  return {
    confDir: env.LUKS_SSM_CONF_DIR || DEFAULT_CONF_DIR,
    defaultsFile: env.LUKS_SSM_DEFAULTS || DEFAULT_DEFAULTS_FILE,
  };
}

/**
 * Writes the units for every configured volume into `normalDir` (the generator's first argument; the early
 * and late directories are not used: admins' files in /etc must win over ours, and ours over the package's).
 * Never throws for a volume's problem: boot must go on for the other volumes. Throws only when the output
 * directory cannot be written.
 */
export async function generateUnits(normalDir: string, opts: GeneratorOptions): Promise<GeneratorResult> {
  const result: GeneratorResult = { volumes: [], skipped: [], files: [] };
  const claimed = new Map<string, string>();
  /** Each path written, and by which volume: a second write would silently replace the first volume's file. */
  const written = new Map<string, string>();
  let volumes: string[];
  try {
    volumes = await listConfiguredVolumes(opts.confDir);
  } catch (error) {
    opts.warn(ignoring(describe(error)));
    return result;
  }
  // Every volume whose config loads claims its mount unit and mapping first; only then do the skipped ones get their
  // guards, from what is left (review 17: a broken copy that sorts first took a valid volume's mount unit).
  const rendered: Array<{ volume: string; files: UnitFile[]; complete: boolean; problem: string }> = [];
  for (const volume of volumes) {
    const outcome = await renderVolume(volume, opts, claimed);
    rendered.push({ volume, files: 'files' in outcome ? outcome.files : [], complete: 'files' in outcome, problem: 'problem' in outcome ? outcome.problem : '' });
  }
  const fstab = readFstabMountPoints(opts.fstabPath ?? FSTAB_PATH);
  for (const entry of rendered.filter((r) => !r.complete)) {
    entry.files = guardUnits(entry.volume, opts, claimed, fstab);
    const guarded = entry.files.map((file) => file.path.replace(/\.d\/[^/]*$/, '')).join(', ');
    opts.warn(`Volume '${entry.volume}': ${ignoring(entry.problem)}${guarded === '' ? '' : ` Still written, so that what depends on it fails with it: ${guarded}.`}`);
  }
  for (const { volume, files, complete } of rendered) {
    const clash = files.find((file) => written.has(file.path));
    const problem = clash !== undefined
      ? `it would write ${clash.path}, which volume '${written.get(clash.path)}' wrote`
      : files.length === 0 ? undefined : await writeAllOrNone(normalDir, files);
    if (problem !== undefined) {
      opts.warn(`Volume '${volume}': ${ignoring(problem)}`);
      result.skipped.push(volume);
      continue;
    }
    for (const file of files) written.set(file.path, volume);
    result.files.push(...files.map((file) => file.path));
    (complete ? result.volumes : result.skipped).push(volume);
  }
  return result;
}

/** The volume's files, claiming its mount unit and mapping; or why it is skipped. */
async function renderVolume(volume: string, opts: GeneratorOptions, claimed: Map<string, string>): Promise<{ files: UnitFile[] } | { problem: string }> {
  const skip = (problem: string): { problem: string } => ({ problem });
  if (!isValidInstance(volume)) return skip(`luks-ssm@${volume}.service is not a valid unit name`);
  let config: VolumeConfig;
  try {
    config = await loadVolumeConfig({ volume, confDir: opts.confDir, defaultsFile: opts.defaultsFile, env: opts.env, requireRootOwned: opts.requireRootOwned });
  } catch (error) {
    return skip(describe(error));
  }
  const badUnit = config.requiredBy.find((unit) => !isValidUnitName(unit));
  if (badUnit !== undefined) return skip(`REQUIRED_BY names '${badUnit}', which is not a unit name`);
  let files: UnitFile[];
  try {
    files = renderVolumeUnits(config);
  } catch (error) {
    return skip(describe(error));
  }
  const tooLong = files.flatMap((file) => file.path.split('/')).find((name) => Buffer.byteLength(name) > NAME_MAX);
  if (tooLong !== undefined) return skip(`it would write ${shorten(tooLong)}, a file name of ${Buffer.byteLength(tooLong)} bytes (at most ${NAME_MAX})`);
  const mountUnit = files[0]!.path;
  const own = [serviceNameOf(volume), mountUnit].find((unit) => config.requiredBy.includes(unit));
  if (own !== undefined) return skip(`REQUIRED_BY names the volume's own unit ${own}, a dependency on itself`);
  const claims = [`mount unit ${mountUnit}`, `mapping /dev/mapper/${config.mapName}`];
  const taken = claims.find((claim) => claimed.has(claim));
  if (taken !== undefined) return skip(`${taken} is already used by volume '${claimed.get(taken)}'`);
  for (const claim of claims) claimed.set(claim, volume);
  return { files };
}

/**
 * What a skipped volume still gets (review 15): its REQUIRED_BY drop-ins and its mount unit (unless another volume
 * has that mount point, or /etc/fstab does: systemd-fstab-generator writes that unit, and ours would replace it),
 * from those two settings read on their own from the files that pass the ownership checks.
 * Its service fails at start, so its dependents fail "Dependency failed" instead of starting on the bare mount point
 * directory on the root disk. Nothing when neither setting is usable.
 */
function guardUnits(volume: string, opts: GeneratorOptions, claimed: Map<string, string>, fstab: Set<string>): UnitFile[] {
  if (!isValidInstance(volume)) return [];
  const keys = readGuardKeys({ volume, confDir: opts.confDir, defaultsFile: opts.defaultsFile, requireRootOwned: opts.requireRootOwned });
  let mountUnit: string | undefined;
  try {
    mountUnit = keys.mountPoint === undefined ? undefined : mountUnitName(keys.mountPoint);
  } catch {
    return [];
  }
  const requiredBy = keys.requiredBy.filter((unit) => isValidUnitName(unit) && unit !== serviceNameOf(volume) && unit !== mountUnit);
  const withMountUnit = mountUnit !== undefined && !claimed.has(`mount unit ${mountUnit}`) && !fstab.has(keys.mountPoint!);
  let files: UnitFile[];
  try {
    files = renderGuardUnits({
      volume, sources: keys.sources, mountPoint: mountUnit === undefined ? undefined : keys.mountPoint, requiredBy, withMountUnit,
      guard: `luks-ssm@${volume}.service was skipped (why: journalctl -k -t luks-ssm-generator, or luks-ssm check ${volume}): only what keeps its dependents from starting without it.`,
    });
  } catch {
    return [];
  }
  const writable = files.filter((file) => file.path.split('/').every((name) => Buffer.byteLength(name) <= NAME_MAX));
  if (withMountUnit && writable.some((file) => file.path === mountUnit)) claimed.set(`mount unit ${mountUnit}`, volume);
  return writable;
}

/**
 * One volume's files, all or none: a failure (a full /run, a name the filesystem refuses) removes what was
 * written for it and is returned as the reason to skip it, so the volumes after it still get theirs.
 */
async function writeAllOrNone(normalDir: string, files: UnitFile[]): Promise<string | undefined> {
  const written: string[] = [];
  try {
    for (const file of files) {
      const path = join(normalDir, file.path);
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, file.text, { mode: 0o644 });
      written.push(path);
    }
    return undefined;
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true }).catch(() => undefined)));
    return `Failed to write its units: ${(error as NodeJS.ErrnoException).code ?? describe(error)}`;
  }
}

export const FSTAB_PATH = '/etc/fstab';

/** The mount points /etc/fstab names (its second field, octal escapes decoded); none when it cannot be read. */
function readFstabMountPoints(path: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return new Set();
  }
  const points = text.split('\n').map((line) => line.trim().split(/\s+/)).filter((fields) => fields.length >= 2 && !fields[0]!.startsWith('#'));
  // fstab(5) writes a space in a path as \040, as mountinfo does.
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return new Set(points.map((fields) => unescape(fields[1]!).replace(/(.)\/+$/, '$1')));
}

/** A long name cut for a one-line message: the start and the end say which it is. */
function shorten(name: string): string {
  return name.length <= 80 ? name : `${name.slice(0, 40)}…${name.slice(-30)}`;
}

/** systemd's wording for a tolerated problem: "…, ignoring." (or "…? Ignoring." after a question). */
function ignoring(problem: string): string {
  return /[.?!]$/.test(problem) ? `${problem} Ignoring.` : `${problem}, ignoring.`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
