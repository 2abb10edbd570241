// The one SDK client configuration (SSM and KMS alike): our region, credentials and endpoint, no SDK retries.
import type { CredentialProvider } from './credential-chain.ts';
import type { Env } from './imds.ts';
import { createSdkHttpHandler } from './sdk-http-handler.ts';
import { checkedEnvEndpoint } from './endpoint-url.ts';

/** TCP connect to a regional endpoint; longer waits are retried by us, within the deadline. */
export const AWS_CONNECT_TIMEOUT_MS = 3_000;
/** One request and its response; GetParameter answers in tens of milliseconds. */
export const AWS_ATTEMPT_TIMEOUT_MS = 10_000;

export interface ClientSettings {
  region: string;
  credentials: CredentialProvider;
  /** SSM_ENDPOINT / KMS_ENDPOINT from the config file. */
  endpoint: string | undefined;
  env: Env;
}

/**
 * Config endpoint, else AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL (the SDK's own env names, read from
 * the env we are given rather than process.env), unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
 */
export function endpointOf(service: 'SSM' | 'KMS', configured: string | undefined, env: Env): string | undefined {
  if (configured) return configured;
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined;
  const name = env[`AWS_ENDPOINT_URL_${service}`] ? `AWS_ENDPOINT_URL_${service}` : env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
  return name === undefined ? undefined : checkedEnvEndpoint(name, env[name] as string);
}

/**
 * Everything the SDK would otherwise look up in ~/.aws/config or process.env is given here: that keeps
 * construction cheap and makes the deadline ours (maxAttempts 1: callWithRetry does the retrying).
 */
export function clientConfigOf(service: 'SSM' | 'KMS', settings: ClientSettings) {
  const endpoint = endpointOf(service, settings.endpoint, settings.env);
  return {
    region: settings.region,
    credentials: settings.credentials,
    ...(endpoint === undefined ? {} : { endpoint }),
    maxAttempts: 1,
    retryMode: 'standard',
    defaultsMode: 'standard' as const,
    useFipsEndpoint: settings.env.AWS_USE_FIPS_ENDPOINT?.toLowerCase() === 'true',
    useDualstackEndpoint: settings.env.AWS_USE_DUALSTACK_ENDPOINT?.toLowerCase() === 'true',
    userAgentAppId: 'luks-ssm',
    // Read from ~/.aws/config on every request when unset (two file reads per call); SSM and KMS sign with SigV4 only.
    authSchemePreference: [],
    // Likewise read at every signing when unset. Kept on: a clock not yet synced at boot is corrected from AWS's answer.
    disableClockSkewCorrection: false,
    // Ours, over node:net/tls (src/aws/http1.ts): the SDK's node:http handler costs ~6 ms of start-up.
    requestHandler: createSdkHttpHandler({ connectionTimeout: AWS_CONNECT_TIMEOUT_MS, requestTimeout: AWS_ATTEMPT_TIMEOUT_MS }),
  };
}
