// check's aws step: the region, credentials and endpoints every AWS call needs, judged before any call is made.
import { endpointOf } from '../aws/client-config.ts';
import { createCredentialProvider } from '../aws/credential-chain.ts';
import { createImdsClient, imdsEndpointOf, type Env } from '../aws/imds.ts';
import { resolveRegion } from '../aws/region.ts';
import { callWithRetry } from '../aws/retry.ts';
import { isUnlockError, UnlockError } from '../errors.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';

/** As src/aws/credential-chain.ts words it, so both ways of not getting credentials read alike. */
const NO_CREDENTIALS = 'No AWS credentials: attach an instance profile with ssm:GetParameter, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';

export interface AwsAccessDeps {
  env: Env;
  clock: Clock;
  log: Logger;
}

/**
 * One line naming where each came from; throws the UnlockError start would meet (78 for an endpoint, 69 for no region
 * or credentials), so the failure is this step's instead of the first step that happens to call AWS (review 8).
 * The same resolution as createAwsContext (src/aws/clients.ts), except that credentials are fetched here, not on first use.
 */
export async function checkAwsAccess(config: VolumeConfig, deps: AwsAccessDeps, deadline: number): Promise<string> {
  const { env, clock, log } = deps;
  // Endpoints first: a bad one is a config fault (78), found without any I/O. KMS too for an SSM volume: check's
  // kms-key step and rotate call it.
  const imds = createImdsClient(imdsEndpointOf(config.endpoints.imds, env));
  const endpoints = [describeEndpoint('SSM', config.endpoints.ssm, env), describeEndpoint('KMS', config.endpoints.kms, env)];
  const configFile = config.sources.at(-1);
  const region = await resolveRegion({ env, deadline, clock, imds, log, ...(config.region ? { configured: config.region } : {}), ...(configFile ? { configFile } : {}) });
  const credentials = createCredentialProvider({ env, deadline, clock, imds });
  const fromEnv = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY);
  // The provider tries once; a network error is retried within the deadline, as the SDK's first call would be.
  const what = 'get AWS credentials';
  await callWithRetry(() => credentials(), { deadline, clock, log, what }).catch((error: unknown) => {
    // Only the deadline's error comes back from callWithRetry as ours: said like the provider's own "No AWS credentials".
    if (!isUnlockError(error) || error.message.startsWith('No AWS credentials')) throw error;
    const detail = error.message.replace(`Failed to ${what}: `, '').replace(/^instance metadata: /, '');
    throw new UnlockError(error.kind, `${NO_CREDENTIALS} (instance metadata at ${imds.endpoint}: ${detail})`, { cause: error, retryable: error.retryable });
  });
  const regionFrom = config.region ? 'SSM_REGION' : env.AWS_REGION ? 'AWS_REGION' : env.AWS_DEFAULT_REGION ? 'AWS_DEFAULT_REGION' : 'instance metadata';
  const credentialsFrom = fromEnv ? 'the environment (AWS_ACCESS_KEY_ID)' : 'the instance profile';
  const where = endpoints.every((e) => e.url === undefined) ? ['SSM and KMS at their regional endpoints'] : endpoints.map((e) => e.text);
  return [`region ${region} (${regionFrom})`, `credentials from ${credentialsFrom}`, ...where].join(', ');
}

/** The endpoint the SDK client will be given, and what set it (the config key or the environment variable). */
function describeEndpoint(service: 'SSM' | 'KMS', configured: string | undefined, env: Env): { url: string | undefined; text: string } {
  const url = endpointOf(service, configured, env);
  if (url === undefined) return { url, text: `${service} at its regional endpoint` };
  const from = configured ? `${service}_ENDPOINT` : env[`AWS_ENDPOINT_URL_${service}`] ? `AWS_ENDPOINT_URL_${service}` : 'AWS_ENDPOINT_URL';
  return { url, text: `${service} at ${url} (${from})` };
}
