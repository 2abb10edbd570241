// Passphrases as SSM SecureString versions: the primary region and every replica in SSM_FALLBACK_REGIONS.
import { PutParameterCommand, type AwsContext } from '../aws/clients.ts';
import { escapeJsonText } from '../aws/json-strings.ts';
import { BODY_PLACEHOLDER, spliceSecretIntoBody, type CommandWithStack } from '../aws/secret-splice.ts';
import { AWS_ATTEMPT_TIMEOUT_MS } from '../aws/client-config.ts';
import { mapAwsError } from '../aws/errors.ts';
import { callWithRetry } from '../aws/retry.ts';
import { errorNameOf } from '../aws/transient.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import { decodeKeyValue } from '../secret/encoding.ts';
import { Secret } from '../secret/secret.ts';
import { awsContextFor, DEFAULT_HISTORY_FALLBACK, regionsOf, withSsmPath, type SsmSourceDeps } from '../secret/ssm-source.ts';
import { fetchSsmHistory, fetchSsmSecret, type FetchedSecret } from '../secret/ssm.ts';
import type { VolumeConfig } from '../types.ts';
import { generatePassphrase } from './passphrase.ts';
import type { KeyStore, StoredKey } from './store.ts';

/** SSM's default key for SecureStrings when KMS_KEY_ID is unset. */
export const SSM_DEFAULT_KMS_KEY = 'alias/aws/ssm';
/** Standard-tier values hold up to 4 KB; larger ones need (paid) Advanced. */
export const STANDARD_TIER_MAX = 4096;

export interface SsmStoreDeps extends SsmSourceDeps {
  /** Named in the parameter's description and tags. */
  hostname: string;
  device: string;
}

export function createSsmStore(volume: VolumeConfig, deps: SsmStoreDeps): KeyStore {
  const config = withSsmPath(volume);
  const [primary, ...replicas] = regionsOf(config);
  const deadline = (): number => deps.clock.now() + config.timeoutSec * 1000;
  const contexts = new Map<string | undefined, Promise<AwsContext>>();
  const aws = (region: string | undefined): Promise<AwsContext> => {
    if (!contexts.has(region)) contexts.set(region, awsContextFor(config, deps, region, deadline()));
    return contexts.get(region) as Promise<AwsContext>;
  };
  const read = async (region: string | undefined): Promise<FetchedSecret> =>
    fetchSsmSecret({ aws: await aws(region), name: config.ssmPath, selector: undefined, deadline: deadline(), clock: deps.clock, log: deps.log });
  const toKey = (fetched: FetchedSecret): StoredKey => ({
    label: `version ${fetched.version}`,
    secret: decodeKeyValue(Secret.copyOf(fetched.secret.bytes()), config.ssmValueEncoding, config.ssmPath),
    value: fetched.secret,
  });
  const put = async (region: string | undefined, value: Secret, create: boolean): Promise<number> => {
    const description = `LUKS passphrase of volume ${config.volume} (${deps.device}) on ${deps.hostname}, written by luks-ssm`;
    const tags = create ? { 'luks-ssm:host': deps.hostname, 'luks-ssm:volume': config.volume } : undefined;
    return putPassphrase({ aws: await aws(region), name: config.ssmPath, value, keyId: config.kmsKeyId ?? SSM_DEFAULT_KMS_KEY, overwrite: !create, description, tags, deadline: deadline(), deps });
  };
  return {
    description: `SSM parameter ${config.ssmPath}`,
    keepsStaleKeys: true,
    async list() {
      const current = await read(primary);
      const limit = config.ssmHistoryFallback ?? DEFAULT_HISTORY_FALLBACK;
      const history = limit === 0 ? [] : await fetchSsmHistory({ aws: await aws(primary), name: config.ssmPath, deadline: deadline(), clock: deps.clock, log: deps.log, limit: limit + 1 });
      const older = history.filter((h) => h.version < current.version).slice(0, limit);
      for (const h of history) if (!older.includes(h)) h.secret.wipe();
      return [current, ...older].map(toKey);
    },
    async pendingRepairs(newest) {
      const behind: string[] = [];
      for (const region of replicas) {
        const replica = await read(region).catch((error: unknown) => {
          if (isUnlockError(error) && error.kind === 'AWS_NOT_FOUND') return undefined;
          throw error;
        });
        if (replica === undefined || !replica.secret.bytes().equals((newest.value as Secret).bytes())) behind.push(region as string);
        replica?.secret.wipe();
      }
      return behind.map((region) => `copy ${newest.label} of ${config.ssmPath} to ${region}`);
    },
    async repair(newest) {
      for (const region of replicas) await put(region, newest.value as Secret, false);
    },
    generate: async () => generatePassphrase(await aws(primary), { deadline: deadline(), clock: deps.clock, log: deps.log }),
    async store(value, opts) {
      const version = await put(primary, value, opts.create);
      for (const region of replicas) await put(region, value, opts.create);
      return { label: `version ${version}`, secret: decodeKeyValue(Secret.copyOf(value.bytes()), config.ssmValueEncoding, config.ssmPath), value };
    },
    bind: async () => {},
    retire: async () => {},
  };
}

interface PutOptions {
  aws: AwsContext;
  name: string;
  value: Secret;
  keyId: string;
  overwrite: boolean;
  description: string;
  tags: Record<string, string> | undefined;
  deadline: number;
  deps: SsmSourceDeps;
}

/**
 * PutParameter as a SecureString. The SDK is given a placeholder and the value's bytes are spliced into the
 * serialised body (src/aws/secret-splice.ts), zeroed once sent: the value is never a JS string. A retried create that finds the parameter already there checks whether it holds our value (our own first
 * attempt, answer lost) before refusing.
 */
export async function putPassphrase(opts: PutOptions): Promise<number> {
  const { aws, name, value, deps } = opts;
  const what = `put SSM parameter ${name} in ${aws.region}`;
  try {
    const out = await callWithRetry(
      (abortSignal) => {
        const command = new PutParameterCommand({
          Name: name, Value: BODY_PLACEHOLDER, Type: 'SecureString', KeyId: opts.keyId, Overwrite: opts.overwrite,
          Tier: value.length > STANDARD_TIER_MAX ? 'Advanced' : 'Standard', Description: opts.description,
          ...(opts.tags === undefined ? {} : { Tags: Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value })) }),
        });
        spliceSecretIntoBody(command as unknown as CommandWithStack, () => escapeJsonText(value.bytes()));
        return aws.ssm().send(command, { abortSignal });
      },
      { deadline: opts.deadline, clock: deps.clock, what, attemptTimeoutMs: AWS_ATTEMPT_TIMEOUT_MS, log: deps.log },
    );
    return out.Version ?? 0;
  } catch (error) {
    if (errorNameOf(error) === 'ParameterAlreadyExists') return alreadyThere(opts, what);
    throw mapAwsError(error, { what, action: 'ssm:PutParameter', region: aws.region, parameter: name, keyId: opts.keyId, inputHasSecret: true });
  }
}

async function alreadyThere(opts: PutOptions, what: string): Promise<number> {
  const current = await fetchSsmSecret({ aws: opts.aws, name: opts.name, selector: undefined, deadline: opts.deadline, clock: opts.deps.clock, log: opts.deps.log });
  try {
    if (current.secret.bytes().equals(opts.value.bytes())) return current.version;
  } finally {
    current.secret.wipe();
  }
  throw new UnlockError('USAGE', `Failed to ${what}: it already exists, refusing to overwrite it`, {
    hint: 'pass --force to write a new version over it (the old one stays in its history)',
  });
}
