// The only import of @aws-sdk/client-kms; loaded on demand (await import) so SSM-only start-up never pays for it.
import { KMSClient } from '@aws-sdk/client-kms';
import { clientConfigOf, type ClientSettings } from './client-config.ts';

export { KMSClient, DecryptCommand, EncryptCommand, DescribeKeyCommand, GenerateRandomCommand } from '@aws-sdk/client-kms';

export function createKmsClient(settings: ClientSettings): KMSClient {
  return new KMSClient(clientConfigOf('KMS', settings));
}
