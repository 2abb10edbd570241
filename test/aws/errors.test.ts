// mapAwsError: the SDK's real exception classes become one UnlockError line naming action and resource.
import { describe, expect, it } from 'vitest';
import { AccessDeniedException, InvalidKeyId, ParameterNotFound, ParameterVersionNotFound, SSMServiceException, ThrottlingException } from '@aws-sdk/client-ssm';
import { DisabledException, KMSInvalidStateException, NotFoundException } from '@aws-sdk/client-kms';
import { mapAwsError, type AwsCallContext } from '../../src/aws/errors.ts';
import { UnlockError } from '../../src/errors.ts';

const meta = { $metadata: { httpStatusCode: 400 } };
const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ssmCtx: AwsCallContext = { what: 'get SSM parameter /luks/data', action: 'ssm:GetParameter', region: 'eu-west-1', parameter: '/luks/data' };
const kmsCtx: AwsCallContext = { what: 'decrypt the key file', action: 'kms:Decrypt', region: 'eu-west-1', keyId: KEY };
/** How SSM wraps a KMS failure (terraform-provider-aws#27352). */
const viaSsm = (kmsMessage: string, code: string) =>
  `${kmsMessage} (Service: AWSKMS; Status Code: 400; Error Code: ${code}; Request ID: 0; Proxy: null)`;

describe('mapAwsError', () => {
  it('ParameterNotFound -> AWS_NOT_FOUND naming the parameter and region, with a hint', () => {
    const err = mapAwsError(new ParameterNotFound({ message: '', ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_NOT_FOUND');
    expect(err.message).toBe('SSM parameter /luks/data not found in eu-west-1');
    expect(err.hint).toContain('SSM_PATH');
  });

  it('a missing version or label names the selector', () => {
    const version = mapAwsError(new ParameterVersionNotFound({ message: '', ...meta }), { ...ssmCtx, selector: { version: 7 } });
    expect(version.kind).toBe('AWS_NOT_FOUND');
    expect(version.message).toBe('SSM parameter /luks/data version 7 not found in eu-west-1');
    const label = mapAwsError(new ParameterVersionNotFound({ message: '', ...meta }), { ...ssmCtx, selector: { label: 'prod' } });
    expect(label.message).toBe('SSM parameter /luks/data has no version labelled prod in eu-west-1');
    expect(label.hint).toContain('SSM_PARAMETER_LABEL');
  });

  it('AccessDenied on ssm:GetParameter names the action, the ARN from the message and the policy statement', () => {
    const arn = 'arn:aws:ssm:eu-west-1:111122223333:parameter/luks/data';
    const message = `User: arn:aws:sts::111122223333:assumed-role/r/i-0 is not authorized to perform: ssm:GetParameter on resource: ${arn} because no identity-based policy allows the ssm:GetParameter action`;
    const err = mapAwsError(new AccessDeniedException({ message, Message: message, ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe(`Failed to get SSM parameter /luks/data: access denied to ssm:GetParameter on ${arn}`);
    expect(err.hint).toContain(`{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"${arn}"}`);
  });

  it('AccessDenied for kms:Decrypt passed on by SSM names kms:Decrypt and the key, and the key policy', () => {
    const message = viaSsm(`User: arn:aws:sts::111122223333:assumed-role/r/i-0 is not authorized to perform: kms:Decrypt on resource: ${KEY} because no identity-based policy allows the kms:Decrypt action`, 'AccessDeniedException');
    const err = mapAwsError(new AccessDeniedException({ message, Message: message, ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe(`Failed to get SSM parameter /luks/data: access denied to kms:Decrypt on ${KEY}`);
    expect(err.hint).toContain('key policy');
  });

  it('AccessDenied for kms:GenerateRandom asks for "Resource":"*" and no key policy: it acts on no key (review 8)', () => {
    const message = 'User: arn:aws:sts::111122223333:assumed-role/r/i-0 is not authorized to perform: kms:GenerateRandom because no identity-based policy allows the kms:GenerateRandom action';
    const err = mapAwsError(new AccessDeniedException({ message, Message: message, ...meta }), { ...kmsCtx, what: 'generate a passphrase', action: 'kms:GenerateRandom' });
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe('Failed to generate a passphrase: access denied to kms:GenerateRandom');
    expect(err.hint).toBe(`allow it in the instance role's policy: {"Effect":"Allow","Action":"kms:GenerateRandom","Resource":"*"}`);
  });

  it('the ambiguous "ciphertext refers to a key that does not exist" says both possibilities', () => {
    const message = viaSsm('The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.', 'AccessDeniedException');
    const err = mapAwsError(new AccessDeniedException({ message, Message: message, ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe("Failed to get SSM parameter /luks/data: kms:Decrypt was denied, or the parameter's KMS key no longer exists");
  });

  it('a disabled key, through SSM (InvalidKeyId) or KMS directly, is KMS_KEY_UNUSABLE with the enable-key fix', () => {
    const throughSsm = mapAwsError(new InvalidKeyId({ message: viaSsm(`${KEY} is disabled.`, 'DisabledException'), ...meta }), ssmCtx);
    const direct = mapAwsError(new DisabledException({ message: `${KEY} is disabled.`, ...meta }), kmsCtx);
    for (const err of [throughSsm, direct]) {
      expect(err.kind).toBe('KMS_KEY_UNUSABLE');
      expect(err.message).toMatch(new RegExp(`KMS key ${KEY} is disabled$`));
      expect(err.hint).toBe(`enable it: aws kms enable-key --key-id ${KEY}`);
    }
    expect(throughSsm.message).toBe(`Failed to get SSM parameter /luks/data: KMS key ${KEY} is disabled`);
  });

  it('a key pending deletion is KMS_KEY_UNUSABLE with the cancel-key-deletion fix', () => {
    const err = mapAwsError(new InvalidKeyId({ message: viaSsm(`${KEY} is pending deletion.`, 'KMSInvalidStateException'), ...meta }), ssmCtx);
    expect(err.kind).toBe('KMS_KEY_UNUSABLE');
    expect(err.message).toBe(`Failed to get SSM parameter /luks/data: KMS key ${KEY} is pending deletion`);
    expect(err.hint).toContain(`aws kms cancel-key-deletion --key-id ${KEY}`);
    const direct = mapAwsError(new KMSInvalidStateException({ message: `${KEY} is pending import.`, ...meta }), kmsCtx);
    expect(direct.message).toBe(`Failed to decrypt the key file: KMS key ${KEY} has no key material (PendingImport)`);
  });

  it('a missing key from KMS is KMS_KEY_UNUSABLE naming the key from the context', () => {
    const err = mapAwsError(new NotFoundException({ message: 'Key not found', ...meta }), kmsCtx);
    expect(err.kind).toBe('KMS_KEY_UNUSABLE');
    expect(err.message).toBe(`Failed to decrypt the key file: KMS key ${KEY} not found in eu-west-1`);
  });

  it.each(['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException'])('%s -> AWS_DENIED "credentials rejected"', (name) => {
    const err = mapAwsError(new SSMServiceException({ name, $fault: 'client', message: 'The security token included in the request is invalid.', ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe(`Failed to get SSM parameter /luks/data: credentials rejected (${name})`);
    expect(err.hint).toBeTruthy();
  });

  it('a signature scoped to another region than the endpoint\'s names the region, not the clock or the secret key (review 8)', () => {
    const message = "Credential should be scoped to a valid region, not 'eu-west-1'. ";
    const err = mapAwsError(new SSMServiceException({ name: 'InvalidSignatureException', $fault: 'client', message, ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_DENIED');
    expect(err.message).toBe("Failed to get SSM parameter /luks/data: credentials rejected (InvalidSignatureException: signed for another region than the endpoint's)");
    expect(err.hint).toBe('the endpoint is not in eu-west-1: set SSM_REGION to the endpoint\'s region, or use an endpoint in eu-west-1');
  });

  it('a transient error outside the retry loop is AWS_UNAVAILABLE and retryable', () => {
    const err = mapAwsError(new ThrottlingException({ message: "Rate exceeded", Message: "Rate exceeded", ...meta }), ssmCtx);
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe('Failed to get SSM parameter /luks/data: throttled (ThrottlingException)');
  });

  it('passes an UnlockError through unchanged', () => {
    const original = new UnlockError('TIMEOUT', 'Failed to x: timed out');
    expect(mapAwsError(original, ssmCtx)).toBe(original);
  });

  it('never echoes AWS\'s message for a request that carried a secret', () => {
    const err = mapAwsError(new SSMServiceException({ name: 'ValidationException', $fault: 'client', message: "Value 'hunter2' at 'value' failed", ...meta }), {
      ...ssmCtx, what: 'put SSM parameter /luks/data', action: 'ssm:PutParameter', inputHasSecret: true,
    });
    expect(err.kind).toBe('AWS_UNAVAILABLE');
    expect(err.message).toBe('Failed to put SSM parameter /luks/data: AWS rejected the request (ValidationException)');
    expect(err.message).not.toContain('hunter2');
  });

  // Config values are validated before any call: a ValidationException at run time is a proxy or a broken
  // endpoint, and 78 (CONFIG) is never retried (issue #10, item 8).
  it('a ValidationException is AWS_UNAVAILABLE (69) and retryable, not a config error', () => {
    const err = mapAwsError(new SSMServiceException({ name: 'ValidationException', $fault: 'client', message: 'bad request', ...meta }), ssmCtx);
    expect([err.kind, err.exitCode, err.retryable]).toEqual(['AWS_UNAVAILABLE', 69, true]);
  });

  it('shows control characters in AWS\'s message as \\xNN: no forged journal line, no terminal escape', () => {
    const message = 'no\nluks-ssm[1]: Unlocked volume data\x1b[2J\r';
    const err = mapAwsError(new SSMServiceException({ name: 'SomethingNew', $fault: 'client', message, ...meta }), ssmCtx);
    expect(err.message).toBe('Failed to get SSM parameter /luks/data: SomethingNew: no\\x0aluks-ssm[1]: Unlocked volume data\\x1b[2J\\x0d');
  });

  it('never quotes a body the SDK could not parse (the parser\'s message starts with the body)', () => {
    const body = 'PASSPHRASE-0123","Type":"SecureString"}}';
    let parserError: Error;
    try {
      JSON.parse(body);
      throw new Error('unreachable');
    } catch (e) {
      parserError = e as Error;
    }
    Object.defineProperty(parserError, '$responseBodyText', { value: body, enumerable: false });
    Object.assign(parserError, { $metadata: { httpStatusCode: 200 } });
    expect(parserError.message).toContain('PASSPHRASE');
    const err = mapAwsError(parserError, ssmCtx);
    expect([err.kind, err.retryable, err.message]).toEqual(['AWS_UNAVAILABLE', true, 'Failed to get SSM parameter /luks/data: the response is not valid JSON (HTTP 200)']);
    expect(JSON.stringify(err.cause, Object.getOwnPropertyNames(err.cause))).not.toContain('PASSPHRASE');
    expect((err.cause as Error).message).not.toContain('PASSPHRASE');
  });

  it('a non-AWS error is INTERNAL', () => {
    expect(mapAwsError(new TypeError('x is undefined'), ssmCtx).kind).toBe('INTERNAL');
  });
});
