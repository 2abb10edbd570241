// SecureString values at rest: encrypted under the emulated KMS key, bound to the parameter's ARN.
import { accessDeniedMessage, type CallContext } from './context.ts';
import { AwsError, wrapKmsMessage } from './errors.ts';
import { decryptBlob, encryptWith, keyIdOfBlob } from './kms-cipher.ts';
import { keyArn, SSM_DEFAULT_ALIAS } from './kms-keys.ts';
import { parameterArn } from './store.ts';

/** Real SSM binds each SecureString to its parameter with this encryption context. */
function contextFor(ctx: CallContext, name: string): Record<string, string> {
  return { PARAMETER_ARN: parameterArn(ctx.state, name) };
}

/** KMS failures are AwsErrors; anything else is an emulator bug and goes up unchanged. */
function kmsFailure(err: unknown): AwsError {
  if (err instanceof AwsError) return err;
  throw err;
}

/** PutParameter: any KMS failure comes back as SSM InvalidKeyId carrying KMS's error (binxio/aws-ssm-copy#10, segmentio/chamber#355). */
export function encryptValue(ctx: CallContext, name: string, keyRef: string | undefined, value: string): { ciphertext: Buffer; keyId: string } {
  const keyId = keyRef ?? SSM_DEFAULT_ALIAS;
  let sealed;
  try {
    sealed = encryptWith(ctx.state, keyId, Buffer.from(value, 'utf8'), contextFor(ctx, name));
  } catch (err) {
    throw new AwsError('InvalidKeyId', wrapKmsMessage(kmsFailure(err)));
  }
  if (ctx.isDenied('kms:Encrypt')) {
    const denied = new AwsError('AccessDeniedException', accessDeniedMessage(ctx.identityArn, 'kms:Encrypt', sealed.key.arn));
    throw new AwsError('AccessDeniedException', wrapKmsMessage(denied));
  }
  return { ciphertext: sealed.blob, keyId };
}

/**
 * GetParameter(s)/GetParameterHistory WithDecryption. What real SSM answers when the KMS call fails,
 * from responses reported in public issues (mimicked here, SSM's code + KMS's message in the text):
 * - key disabled            -> InvalidKeyId "<key arn> is disabled. (Service: AWSKMS; … Error Code: DisabledException …)"
 * - key pending deletion    -> InvalidKeyId "<key arn> is pending deletion. (… KMSInvalidStateException …)"
 *                              (hashicorp/terraform-provider-aws#27352, reading a parameter)
 * - key pending import      -> InvalidKeyId "<key arn> is pending import. (… KMSInvalidStateException …)" (same path)
 * - key deleted / no access -> AccessDeniedException "The ciphertext refers to a customer master key that does not
 *                              exist, does not exist in this region, or you are not allowed to access. (… AWSKMS …)"
 *                              (tryolabs/aws-workshop#6, Droplr/aws-env#29)
 * Both InvalidKeyId and AccessDeniedException are modelled SSM errors, so the SDK raises those classes.
 */
export function decryptValue(ctx: CallContext, name: string, ciphertext: Buffer): string {
  const keyId = keyIdOfBlob(ciphertext);
  if (ctx.isDenied('kms:Decrypt') || keyId === undefined || !ctx.state.keys.has(keyId)) {
    throw cannotAccessKey();
  }
  try {
    return decryptBlob(ctx.state, ciphertext, contextFor(ctx, name)).plaintext.toString('utf8');
  } catch (err) {
    const kms = kmsFailure(err);
    if (kms.type === 'NotFoundException') throw cannotAccessKey();
    if (kms.type === 'InvalidCiphertextException') throw new AwsError('InternalServerError', `Decryption of ${keyArn(ctx.state, keyId)} ciphertext failed.`, 500);
    throw new AwsError('InvalidKeyId', wrapKmsMessage(kms));
  }
}

function cannotAccessKey(): AwsError {
  const kms = new AwsError('AccessDeniedException',
    'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');
  return new AwsError('AccessDeniedException', wrapKmsMessage(kms));
}
