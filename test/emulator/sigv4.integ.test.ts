// SigV4 checks as the SDK meets them: known keys, exact signatures, the right service and region.
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from './index.ts';
import { rejectionOf, ssmClient } from './sdk-clients.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
  emulator.putParameter('/sig/p', 'value');
});
afterAll(async () => {
  await emulator.stop();
});

async function failureWith(opts: Parameters<typeof ssmClient>[1]): Promise<Error & { name: string }> {
  const ssm = ssmClient(emulator, opts);
  try {
    return await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/sig/p' })));
  } finally {
    ssm.destroy();
  }
}

describe('SigV4', () => {
  it('accepts the static pair', async () => {
    const ssm = ssmClient(emulator);
    expect((await ssm.send(new GetParameterCommand({ Name: '/sig/p', WithDecryption: true }))).Parameter?.Value).toBe('value');
    ssm.destroy();
  });

  it('a wrong secret key is InvalidSignatureException with AWS message', async () => {
    const err = await failureWith({ credentials: { ...emulator.credentials, secretAccessKey: 'wrong' } });
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.message).toMatch(/^The request signature we calculated does not match the signature you provided\./);
  });

  it('an unknown access key is UnrecognizedClientException', async () => {
    const err = await failureWith({ credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' } });
    expect(err.name).toBe('UnrecognizedClientException');
    expect(err.message).toBe('The security token included in the request is invalid.');
  });

  it('a scope for another region is refused', async () => {
    const err = await failureWith({ region: 'eu-west-1' });
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.message).toMatch(/scoped to a valid region/);
  });

  it('a body changed after signing is refused', async () => {
    const ssm = ssmClient(emulator);
    ssm.middlewareStack.add((next) => async (args) => {
      const request = args.request as { body: Uint8Array };
      request.body = Buffer.from(Buffer.from(request.body).toString('utf8').replace('/sig/p', '/sig/q'), 'utf8');
      return next(args);
    }, { step: 'deserialize', priority: 'low', name: 'tamper' });
    const err = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/sig/p', Value: 'x', Type: 'String', Overwrite: true })));
    expect(err.name).toBe('InvalidSignatureException');
    ssm.destroy();
  });

  it('a request without Authorization is MissingAuthenticationTokenException', async () => {
    const res = await fetch(emulator.url, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSSM.GetParameter', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Name: '/sig/p' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('a KMS-scoped signature sent to SSM is refused for the wrong service', async () => {
    const ssm = ssmClient(emulator);
    ssm.middlewareStack.add((next) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      request.headers['x-amz-target'] = 'TrentService.ListAliases';
      return next(args);
    }, { step: 'build', name: 'retarget' });
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/sig/p' })));
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.message).toMatch(/scoped to correct service: 'kms'/);
    ssm.destroy();
  });
});
