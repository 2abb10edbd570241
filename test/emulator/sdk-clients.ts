// Test helper: real SDK clients aimed at an emulator, with retries off unless a test asks for them.
import { KMSClient } from '@aws-sdk/client-kms';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Emulator } from './index.ts';

export interface ClientOptions {
  maxAttempts?: number;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  region?: string;
}

/** What both clients share: the emulator's endpoint, region and static credentials, one attempt by default. */
function clientConfig(emulator: Emulator, opts: ClientOptions) {
  return {
    endpoint: emulator.url,
    region: opts.region ?? emulator.region,
    credentials: opts.credentials ?? emulator.credentials,
    maxAttempts: opts.maxAttempts ?? 1,
  };
}

export function ssmClient(emulator: Emulator, opts: ClientOptions = {}): SSMClient {
  return new SSMClient(clientConfig(emulator, opts));
}

export function kmsClient(emulator: Emulator, opts: ClientOptions = {}): KMSClient {
  return new KMSClient(clientConfig(emulator, opts));
}

/** The rejection of `promise`, so a test can assert on its class, name and message. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { name: string; $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { name: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
