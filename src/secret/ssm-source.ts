// The SSM key source: the current version, then earlier ones (an interrupted rotation); replica regions only when one is down.
import { createAwsContext, type AwsContext } from '../aws/clients.ts';
import { warmContext, type HeadStart } from '../aws/head-start.ts';
import type { RetryHooks } from '../aws/retry.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import { decodeKeyValue } from './encoding.ts';
import { fetchSsmHistory, fetchSsmSecret, type FetchedSecret } from './ssm.ts';
import type { FetchedKey, KeySource } from './source.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';

export interface SsmSourceDeps {
  env: Record<string, string | undefined>;
  clock: Clock;
  log: Logger;
}

/** A volume whose passphrase is in SSM: SSM_PATH is set (the loader requires it unless KEY_SOURCE=kms). */
export type SsmVolumeConfig = VolumeConfig & { ssmPath: string };

/** Narrows the config for the SSM code; a missing SSM_PATH here means a caller skipped the loader's rule. */
export function withSsmPath(config: VolumeConfig): SsmVolumeConfig {
  if (config.ssmPath === undefined) {
    throw new UnlockError('CONFIG', `${config.sources.at(-1) ?? 'config'}: SSM_PATH is not set, and volume ${config.volume} reads its passphrase from SSM`);
  }
  return config as SsmVolumeConfig;
}

/** SSM_HISTORY_FALLBACK's default: enough for a rotation interrupted twice. */
export const DEFAULT_HISTORY_FALLBACK = 3;

/** SSM_REGION (undefined: resolved from the environment or instance metadata), then SSM_FALLBACK_REGIONS in order. */
export function regionsOf(config: VolumeConfig): Array<string | undefined> {
  const fallbacks = (config.fallbackRegions ?? []).filter((r) => r !== config.region);
  return [config.region, ...new Set(fallbacks)];
}

/**
 * Only unavailability moves on to the next region: network failures, 5xx and throttling that outlast the region's
 * share of the deadline. AccessDenied, NotFound, a disabled key or a bad value are real answers, the same everywhere.
 */
export function shouldFailOver(error: unknown): boolean {
  return isUnlockError(error) && (error.kind === 'AWS_UNAVAILABLE' || error.kind === 'TIMEOUT');
}

export function awsContextFor(config: VolumeConfig, deps: SsmSourceDeps, region: string | undefined, deadline: number, hooks?: RetryHooks): Promise<AwsContext> {
  return createAwsContext({
    ...(region === undefined ? {} : { region }),
    endpoints: config.endpoints,
    env: deps.env,
    deadline,
    clock: deps.clock,
    log: deps.log,
    configFile: config.sources.at(-1),
    ...(hooks === undefined ? {} : { hooks }),
  });
}

/** When region `i` of `count` gives up: an equal share of what is left, the last one the deadline. */
function regionShare(i: number, count: number, deadline: number, now: number): number {
  return i === count - 1 ? deadline : now + (deadline - now) / (count - i);
}

/**
 * The current (or pinned) version from the first region that answers; each region gets an equal share of what is
 * left. `early`: the first region's context, already under way.
 */
async function fetchCurrent(config: SsmVolumeConfig, deps: SsmSourceDeps, deadline: number, hooks: RetryHooks | undefined, early: HeadStart<AwsContext> | undefined): Promise<{ aws: AwsContext; fetched: FetchedSecret }> {
  const regions = regionsOf(config);
  for (let i = 0; ; i += 1) {
    const last = i === regions.length - 1;
    const share = regionShare(i, regions.length, deadline, deps.clock.now());
    try {
      const aws = i === 0 && early !== undefined ? await early.join(hooks) : await awsContextFor(config, deps, regions[i], share, hooks);
      const fetched = await fetchSsmSecret({ aws, name: config.ssmPath, selector: config.ssmSelector, deadline: share, clock: deps.clock, log: deps.log, ...(hooks ? { hooks } : {}) });
      return { aws, fetched };
    } catch (error) {
      if (last || !shouldFailOver(error) || hooks?.signal?.aborted) throw error;
      const next = regions[i + 1];
      deps.log.warn({ parameter: config.ssmPath, region: regions[i], next, reason: (error as Error).message },
        `SSM in ${regions[i] ?? 'the default region'} is unavailable, trying the replica in ${next}`);
    }
  }
}

function keyOf(config: SsmVolumeConfig, fetched: FetchedSecret, region: string): FetchedKey {
  const secret = decodeKeyValue(fetched.secret, config.ssmValueEncoding, fetched.name);
  return { secret, source: `ssm:${fetched.name}`, version: fetched.version, region };
}

export function createSsmKeySource(volume: VolumeConfig, deps: SsmSourceDeps): KeySource {
  const config = withSsmPath(volume);
  let early: HeadStart<AwsContext> | undefined;
  return {
    description: `SSM parameter ${config.ssmPath}`,
    warmUp(deadline) {
      early?.stop();
      // With replica regions, the first region's share of the deadline is known only when the key is asked for.
      early = regionsOf(config).length === 1 ? warmContext((hooks) => awsContextFor(config, deps, config.region, deadline, hooks), 'ssm') : undefined;
      return { stop: () => early?.stop() };
    },
    async *keys(deadline, hooks) {
      // Taken once: a later keys() starts afresh.
      const head = early;
      early = undefined;
      const { aws, fetched } = await fetchCurrent(config, deps, deadline, hooks, head);
      yield keyOf(config, fetched, aws.region);
      // A pinned version or label is what the admin asked for: no guessing beyond it.
      const limit = config.ssmHistoryFallback ?? DEFAULT_HISTORY_FALLBACK;
      if (config.ssmSelector !== undefined || limit === 0) return;
      yield* earlierVersions(config, deps, aws, fetched.version, limit, deadline, hooks);
    },
  };
}

/** Versions older than `current`, newest first, at most `limit`; the history call failing ends the list with a warning. */
async function* earlierVersions(config: SsmVolumeConfig, deps: SsmSourceDeps, aws: AwsContext, current: number, limit: number, deadline: number, hooks: RetryHooks | undefined): AsyncGenerator<FetchedKey, void, undefined> {
  let history: FetchedSecret[];
  try {
    history = await fetchSsmHistory({ aws, name: config.ssmPath, deadline, clock: deps.clock, log: deps.log, limit: limit + 1, ...(hooks ? { hooks } : {}) });
  } catch (error) {
    deps.log.warn({ parameter: config.ssmPath, region: aws.region, reason: (error as Error).message },
      `Failed to read earlier versions of ${config.ssmPath}: ${(error as Error).message}, ignoring.`);
    return;
  }
  const older = history.filter((h) => h.version < current).slice(0, limit);
  for (const h of history) if (!older.includes(h)) h.secret.wipe();
  try {
    while (older.length > 0) {
      const next = older.shift() as FetchedSecret;
      let key: FetchedKey;
      try {
        key = keyOf(config, next, aws.region);
      } catch (error) {
        deps.log.warn({ parameter: config.ssmPath, version: next.version }, `${(error as Error).message}, ignoring.`);
        continue;
      }
      deps.log.info({ parameter: config.ssmPath, version: next.version }, `trying earlier version ${next.version} of ${config.ssmPath}`);
      yield key;
    }
  } finally {
    for (const h of older) h.secret.wipe();
  }
}
