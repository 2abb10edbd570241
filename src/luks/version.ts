// cryptsetup's version, asked only after a command a newer cryptsetup needs has failed, and at most once per runner:
// the boot path spawns nothing extra, and a failure on an old system says which version it needs.
import { UnlockError } from '../errors.ts';
import type { Runner } from '../types.ts';
import { DEFAULT_QUERY_TIMEOUT_MS } from './cryptsetup.ts';

export type Version = readonly [major: number, minor: number, patch: number];

/** LUKS2 tokens on the command line (`token import/export/remove`): the floor luks-ssm claims for KEY_SOURCE=kms. */
export const TOKENS_NEED: Version = [2, 1, 0];

/** "cryptsetup 2.6.1 flags: UDEV BLKID …" (2.5+) or "cryptsetup 2.3.7". */
export function parseCryptsetupVersion(stdout: string): Version | undefined {
  const match = /^cryptsetup (\d+)\.(\d+)(?:\.(\d+))?/m.exec(stdout);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** "2.3.7"; "2.1" for 2.1.0. */
export const formatVersion = (v: Version): string => (v[2] === 0 ? v.slice(0, 2) : v).join('.');

export function isOlder(have: Version, need: Version): boolean {
  for (let i = 0; i < 3; i += 1) if (have[i] !== need[i]) return have[i]! < need[i]!;
  return false;
}

const asked = new WeakMap<Runner, Promise<Version | undefined>>();

/** `cryptsetup --version`, once per runner; undefined when it cannot be told. */
export function cryptsetupVersion(run: Runner): Promise<Version | undefined> {
  let version = asked.get(run);
  if (version === undefined) {
    version = run('cryptsetup', ['--version'], { timeoutMs: DEFAULT_QUERY_TIMEOUT_MS })
      .then((r) => (r.exitCode === 0 ? parseCryptsetupVersion(r.stdout) : undefined), () => undefined);
    asked.set(run, version);
  }
  return version;
}

/**
 * For a failed command: UNSUPPORTED (exit 85) when this cryptsetup is older than `need` for `feature`, else
 * undefined (the failure has another cause and the caller reports it as it is).
 */
export async function unsupported(run: Runner, need: Version, feature: string): Promise<UnlockError | undefined> {
  const have = await cryptsetupVersion(run);
  if (have === undefined || !isOlder(have, need)) return undefined;
  return new UnlockError('UNSUPPORTED', `${feature} needs cryptsetup ${formatVersion(need)} or later; this system has ${formatVersion(have)}`, {
    hint: 'upgrade cryptsetup, or use KEY_SOURCE=ssm (it needs no LUKS2 tokens)',
  });
}
