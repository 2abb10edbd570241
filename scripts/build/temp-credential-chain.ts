// Stand-in for src/aws/credential-chain.ts until it lands: environment, then instance metadata.
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import type { AwsCredentialIdentity } from '@smithy/types';

export function defaultProvider(init: object = {}): () => Promise<AwsCredentialIdentity> {
  return async () => {
    try {
      return await fromEnv(init)();
    } catch {
      return fromInstanceMetadata(init)();
    }
  };
}
