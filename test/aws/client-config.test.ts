// clientConfigOf/endpointOf: our region, credentials and endpoint go to the SDK, with its retries off.
import { describe, expect, it } from 'vitest';
import { AWS_ATTEMPT_TIMEOUT_MS, AWS_CONNECT_TIMEOUT_MS, clientConfigOf, endpointOf } from '../../src/aws/client-config.ts';

const credentials = async () => ({ accessKeyId: 'a', secretAccessKey: 's' });

describe('endpointOf', () => {
  const env = { AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:2', AWS_ENDPOINT_URL: 'http://127.0.0.1:3' };
  it('config, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, else the SDK default', () => {
    expect(endpointOf('SSM', 'http://127.0.0.1:1', env)).toBe('http://127.0.0.1:1');
    expect(endpointOf('SSM', undefined, env)).toBe('http://127.0.0.1:2');
    expect(endpointOf('KMS', undefined, env)).toBe('http://127.0.0.1:3');
    expect(endpointOf('KMS', undefined, {})).toBeUndefined();
  });

  // The environment is checked like a config file's value (issue #10, item 6): a plain-http endpoint elsewhere
  // than loopback would let the network read the answer (the passphrase) and replay the signed request.
  it('refuses an AWS_ENDPOINT_URL* that is plain http to a host other than loopback, naming the variable', () => {
    expect(() => endpointOf('SSM', undefined, { AWS_ENDPOINT_URL_SSM: 'http://10.0.2.2:4566' })).toThrow(
      'AWS_ENDPOINT_URL_SSM=http://10.0.2.2:4566 in the environment uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): use https://, refusing.');
    expect(() => endpointOf('KMS', undefined, { AWS_ENDPOINT_URL: 'http://kms.example.com' })).toThrow(/^AWS_ENDPOINT_URL=http:\/\/kms\.example\.com in the environment uses http:\/\//);
    const err = (() => { try { endpointOf('SSM', undefined, { AWS_ENDPOINT_URL_SSM: 'ftp://x' }); } catch (e) { return e; } return undefined; })();
    expect(err).toMatchObject({ kind: 'CONFIG', exitCode: 78 });
    expect(endpointOf('SSM', undefined, { AWS_ENDPOINT_URL_SSM: 'https://ssm.example.com' })).toBe('https://ssm.example.com');
  });

  it('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores the environment, not the config file', () => {
    const ignoring = { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' };
    expect(endpointOf('SSM', undefined, ignoring)).toBeUndefined();
    expect(endpointOf('SSM', 'http://127.0.0.1:1', ignoring)).toBe('http://127.0.0.1:1');
  });
});

describe('clientConfigOf', () => {
  it('turns the SDK retries off and passes region, credentials and endpoint', () => {
    const config = clientConfigOf('SSM', { region: 'eu-west-1', credentials, endpoint: undefined, env: { AWS_ENDPOINT_URL_SSM: 'http://127.0.0.1:2' } });
    expect(config).toMatchObject({ region: 'eu-west-1', credentials, endpoint: 'http://127.0.0.1:2', maxAttempts: 1 });
    expect(config.requestHandler.httpHandlerConfigs()).toEqual({ connectionTimeout: AWS_CONNECT_TIMEOUT_MS, requestTimeout: AWS_ATTEMPT_TIMEOUT_MS });
    expect(config.requestHandler.metadata).toEqual({ handlerProtocol: 'http/1.1' });
  });

  it('leaves the endpoint to the SDK when none is configured', () => {
    expect(clientConfigOf('KMS', { region: 'eu-west-1', credentials, endpoint: undefined, env: {} })).not.toHaveProperty('endpoint');
  });
});
