// Which AWS region to call: config, then the environment, then instance metadata (retried within the deadline).
import { UnlockError, isUnlockError } from '../errors.ts';
import type { Clock, Logger } from '../types.ts';
import { remainingMs } from './deadline.ts';
import { createImdsClient, imdsDisabled, imdsEndpointOf, type Env, type ImdsClient } from './imds.ts';
import { callWithRetry, type RetryHooks } from './retry.ts';

const REGION_PATH = '/latest/meta-data/placement/region';
const REGION_SYNTAX = /^[a-z]{2}(-[a-z0-9]+){2,3}$/;

export interface RegionOptions {
  /** SSM_REGION from the config file. */
  configured?: string;
  env: Env;
  /** IMDS_ENDPOINT from the config file. */
  imdsEndpoint?: string;
  deadline: number;
  clock: Clock;
  log?: Logger;
  /** The config file, named in the "No AWS region" message. */
  configFile?: string;
  /** Shared with the credential provider (one session token); by default one for imdsEndpointOf(imdsEndpoint, env). */
  imds?: ImdsClient;
  /** start's race: a failed lookup is an AWS attempt (the question opens), a typed key stops the lookup. */
  hooks?: RetryHooks;
}

function noRegion(opts: RegionOptions, detail: string, cause?: unknown): UnlockError {
  const where = opts.configFile ?? 'the volume config file';
  const message = `No AWS region: set SSM_REGION in ${where}, or AWS_REGION, or run on EC2 with IMDS reachable (${detail})`;
  const from = isUnlockError(cause) ? cause : undefined;
  return new UnlockError(from?.kind ?? 'AWS_UNAVAILABLE', message, { cause, retryable: from?.retryable ?? false });
}

/** Resolves the region once; throws UnlockError (AWS_UNAVAILABLE or TIMEOUT) with the three ways to fix it. */
export async function resolveRegion(opts: RegionOptions): Promise<string> {
  const { env, log } = opts;
  const fromEnv = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (opts.configured) return opts.configured;
  if (fromEnv) return fromEnv;
  if (imdsDisabled(opts.env)) throw noRegion(opts, 'AWS_EC2_METADATA_DISABLED is set');

  const imds = opts.imds ?? createImdsClient(imdsEndpointOf(opts.imdsEndpoint, env));
  const what = 'get the region from instance metadata';
  const at = `instance metadata at ${imds.endpoint}`;
  let answer: string;
  try {
    answer = await callWithRetry(
      (signal) => imds.get(REGION_PATH, { timeoutMs: remainingMs(opts.deadline, opts.clock), signal }),
      { deadline: opts.deadline, clock: opts.clock, log, what, ...opts.hooks },
    );
  } catch (err) {
    if (isUnlockError(err)) throw noRegion(opts, `${at}: ${err.message.replace(`Failed to ${what}: `, '').replace(/^instance metadata: /, '')}`, err);
    const status = (err as { statusCode?: number }).statusCode;
    throw noRegion(opts, `${at}: ${status === undefined ? (err as Error).message : `HTTP ${status}`}`, err);
  }
  const region = answer.trim();
  if (!REGION_SYNTAX.test(region)) throw noRegion(opts, `${at} answered something that is not a region`);
  log?.debug({ region, from: 'instance metadata' }, 'AWS region from instance metadata');
  return region;
}
