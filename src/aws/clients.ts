// The only import of @aws-sdk/client-ssm: region, credentials and endpoints resolved once, clients made lazily.
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock, Logger, VolumeConfig } from '../types.ts';
import { createCredentialProvider } from './credential-chain.ts';
import { renewableCredentials } from './credential-renewal.ts';
import type { KMSClient } from './kms-client.ts';
import { clientConfigOf } from './client-config.ts';
import { createImdsClient, imdsEndpointOf } from './imds.ts';
import type { RetryHooks } from './retry.ts';
import { resolveRegion } from './region.ts';

export { DescribeParametersCommand, GetParameterCommand, GetParameterHistoryCommand, LabelParameterVersionCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
export type { Parameter, ParameterHistory, SSMClient } from '@aws-sdk/client-ssm';
export type { KMSClient } from './kms-client.ts';

export interface AwsContext {
  region: string;
  /** Created on first call, then the same client. */
  ssm(): SSMClient;
  /** Async so @aws-sdk/client-kms is only loaded when KMS is used; import its commands the same way. */
  kms(): Promise<KMSClient>;
  /** Makes the client (loading KMS's first) and starts fetching the credentials now; a failure is left for the first call to meet. */
  warm(client: 'ssm' | 'kms'): void;
}

export interface AwsContextOptions {
  /** SSM_REGION from the config file. */
  region?: string;
  endpoints: VolumeConfig['endpoints'];
  env: Record<string, string | undefined>;
  deadline: number;
  clock: Clock;
  log?: Logger;
  /** The volume's config file, named in "No AWS region" messages. */
  configFile?: string;
  /** Passed to the region lookup (the SDK calls get theirs per call). */
  hooks?: RetryHooks;
}

/** Resolves the region (may ask instance metadata, within the deadline); credentials are fetched on first use. */
export async function createAwsContext(opts: AwsContextOptions): Promise<AwsContext> {
  const { env, endpoints, deadline, clock } = opts;
  // One IMDS client (no I/O until used) for region and credentials: one session token per run.
  const imds = createImdsClient(imdsEndpointOf(endpoints.imds, env));
  const region = await resolveRegion({
    env, deadline, clock, imds,
    ...(opts.region === undefined ? {} : { configured: opts.region }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
    ...(opts.configFile === undefined ? {} : { configFile: opts.configFile }),
    ...(opts.hooks === undefined ? {} : { hooks: opts.hooks }),
  });
  const { credentials, watch } = renewableCredentials(createCredentialProvider({ env, deadline, clock, imds }));
  let ssm: SSMClient | undefined;
  let kms: Promise<KMSClient> | undefined;
  const ssmClient = () => (ssm ??= watch(new SSMClient(clientConfigOf('SSM', { region, credentials, endpoint: endpoints.ssm, env }))));
  const kmsClient = () => (kms ??= import('./kms-client.ts').then((m) => watch(m.createKmsClient({ region, credentials, endpoint: endpoints.kms, env }))));
  return {
    region,
    ssm: ssmClient,
    kms: kmsClient,
    warm: (client) => {
      if (client === 'ssm') ssmClient();
      else kmsClient().catch(() => undefined);
      // The provider keeps the answer (or the request in flight) for the SDK's first call.
      credentials().catch(() => undefined);
    },
  };
}
