// SSM through the real SDK: exact bytes round trip, selectors, history paging, errors by class.
import {
  DescribeParametersCommand, GetParameterCommand, GetParameterHistoryCommand, GetParametersCommand,
  LabelParameterVersionCommand, ParameterAlreadyExists, ParameterNotFound, ParameterVersionNotFound, PutParameterCommand,
  DeleteParameterCommand, AddTagsToResourceCommand, ListTagsForResourceCommand, ValidationException, type SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from './index.ts';
import { rejectionOf, ssmClient } from './sdk-clients.ts';

let emulator: Emulator;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulator();
  ssm = ssmClient(emulator);
});
afterAll(async () => {
  ssm.destroy();
  await emulator.stop();
});
beforeEach(() => emulator.reset());

async function roundTrip(name: string, value: string): Promise<string | undefined> {
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Tier: value.length > 4096 ? 'Advanced' : undefined }));
  const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  return out.Parameter?.Value;
}

describe('SecureString round trip keeps the exact characters', () => {
  const cases: Array<[string, string]> = [
    ['trailing newline', 'correct horse battery staple\n'],
    ['leading and trailing spaces', '  spaced out  '],
    ['NUL bytes', 'a\u0000b\u0000'],
    ['4096 characters', 'x'.repeat(4095) + 'y'],
    ['non-ASCII', 'pässwörd – 鍵 🔑'],
    ['8192 characters (Advanced tier)', 'z'.repeat(8192)],
  ];
  for (const [what, value] of cases) {
    it(what, async () => {
      expect(await roundTrip('/luks/data', value)).toBe(value);
    });
  }

  it('stores the value encrypted: without WithDecryption the value is ciphertext, not the secret', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/luks/data', Value: 'hunter2-secret', Type: 'SecureString' }));
    const out = await ssm.send(new GetParameterCommand({ Name: '/luks/data' }));
    expect(out.Parameter?.Type).toBe('SecureString');
    expect(out.Parameter?.Value).not.toContain('hunter2');
    expect(Buffer.from(out.Parameter?.Value ?? '', 'base64').includes('hunter2-secret')).toBe(false);
  });

  it('AllowedPattern: a mismatch names the pattern, never the value; a broken pattern is ValidationException', async () => {
    const mismatch = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/pat', Value: 'not-digits-secret', Type: 'SecureString', AllowedPattern: '^\\d+$' })));
    expect(mismatch.name).toBe('ParameterPatternMismatchException');
    expect(mismatch.message).not.toContain('not-digits-secret');
    const broken = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/pat', Value: 'v', Type: 'String', AllowedPattern: '[' })));
    expect(broken).toBeInstanceOf(ValidationException);
  });

  it('refuses a Standard value over 4096 characters with ValidationException', async () => {
    const err = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/big', Value: 'x'.repeat(4097), Type: 'SecureString' })));
    expect(err).toBeInstanceOf(ValidationException);
    expect(err.message).toMatch(/maximum parameter value of 4096 characters/);
  });
});

describe('versions, labels and selectors', () => {
  beforeEach(async () => {
    for (const v of ['one', 'two', 'three']) {
      await ssm.send(new PutParameterCommand({ Name: '/app/key', Value: v, Type: 'SecureString', Overwrite: true }));
    }
    await ssm.send(new LabelParameterVersionCommand({ Name: '/app/key', ParameterVersion: 2, Labels: ['prod'] }));
  });

  const read = async (name: string) => (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;

  it('reads latest, :version and :label', async () => {
    expect((await read('/app/key'))?.Value).toBe('three');
    expect(await read('/app/key:1')).toMatchObject({ Value: 'one', Version: 1, Selector: ':1' });
    expect(await read('/app/key:prod')).toMatchObject({ Value: 'two', Version: 2, Selector: ':prod' });
  });

  it('accepts the ARN, with a selector too', async () => {
    const arn = `arn:aws:ssm:${emulator.region}:${emulator.accountId}:parameter/app/key`;
    expect((await read(arn))?.ARN).toBe(arn);
    expect((await read(`${arn}:prod`))?.Value).toBe('two');
  });

  it('moves a label to another version', async () => {
    await ssm.send(new LabelParameterVersionCommand({ Name: '/app/key', ParameterVersion: 3, Labels: ['prod'] }));
    expect((await read('/app/key:prod'))?.Value).toBe('three');
  });

  it('raises ParameterVersionNotFound for a missing version and ParameterNotFound for a missing label', async () => {
    const version = await rejectionOf(read('/app/key:9'));
    expect(version).toBeInstanceOf(ParameterVersionNotFound);
    expect(version.message).toBe('Systems Manager could not find version 9 of /app/key. Verify the version and try again.');
    expect(await rejectionOf(read('/app/key:nolabel'))).toBeInstanceOf(ParameterNotFound);
  });

  it('pages history with MaxResults and NextToken, oldest first', async () => {
    const first = await ssm.send(new GetParameterHistoryCommand({ Name: '/app/key', MaxResults: 2, WithDecryption: true }));
    expect(first.Parameters?.map((p) => [p.Version, p.Value])).toEqual([[1, 'one'], [2, 'two']]);
    expect(first.Parameters?.[1].Labels).toEqual(['prod']);
    expect(first.NextToken).toBeTruthy();
    const second = await ssm.send(new GetParameterHistoryCommand({ Name: '/app/key', MaxResults: 2, NextToken: first.NextToken, WithDecryption: true }));
    expect(second.Parameters?.map((p) => p.Value)).toEqual(['three']);
    expect(second.NextToken).toBeUndefined();
  });

  it('PutParameter without Type: required on create, kept (with its key) on overwrite', async () => {
    const err = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/new/untyped', Value: 'v' })));
    expect(err).toBeInstanceOf(ValidationException);
    await ssm.send(new PutParameterCommand({ Name: '/app/key', Value: 'four', Overwrite: true }));
    expect(await read('/app/key')).toMatchObject({ Type: 'SecureString', Value: 'four', Version: 4 });
  });

  it('refuses PutParameter on an existing name without Overwrite', async () => {
    const err = await rejectionOf(ssm.send(new PutParameterCommand({ Name: '/app/key', Value: 'four', Type: 'SecureString' })));
    expect(err).toBeInstanceOf(ParameterAlreadyExists);
  });
});

describe('other actions', () => {
  it('raises ParameterNotFound for a missing name', async () => {
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/nope', WithDecryption: true })));
    expect(err).toBeInstanceOf(ParameterNotFound);
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('a name with characters no parameter can have is ValidationException, not ParameterNotFound', async () => {
    const err = await rejectionOf(ssm.send(new GetParameterCommand({ Name: '{test}-test' })));
    expect(err).toBeInstanceOf(ValidationException);
    expect(err.message).toMatch(/^Parameter name: can't be prefixed with "aws" or "ssm"/);
  });

  it('GetParameters lists unknown names in InvalidParameters', async () => {
    emulator.putParameter('/a', 'A');
    emulator.putParameter('b', 'B', { type: 'String' });
    const out = await ssm.send(new GetParametersCommand({ Names: ['/a', 'b', '/missing', '/a:7'], WithDecryption: true }));
    expect(out.Parameters?.map((p) => [p.Name, p.Value])).toEqual([['/a', 'A'], ['b', 'B']]);
    expect(out.InvalidParameters).toEqual(['/missing', '/a:7']);
  });

  it('DescribeParameters filters by name and never returns values', async () => {
    emulator.putParameter('/x/one', 's1');
    emulator.putParameter('/x/two', 's2');
    emulator.putParameter('/y/three', 's3');
    const out = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: ['/x/'] }] }));
    expect(out.Parameters?.map((p) => p.Name)).toEqual(['/x/one', '/x/two']);
    expect(out.Parameters?.[0].KeyId).toBe('alias/aws/ssm');
    expect(JSON.stringify(out.Parameters)).not.toContain('s1');
  });

  it('tags on create, AddTagsToResource and ListTagsForResource', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/t', Value: 'v', Type: 'String', Tags: [{ Key: 'team', Value: 'ops' }] }));
    await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/t', Tags: [{ Key: 'env', Value: 'test' }] }));
    const out = await ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/t' }));
    expect(out.TagList).toEqual([{ Key: 'team', Value: 'ops' }, { Key: 'env', Value: 'test' }]);
  });

  it('DeleteParameter removes the parameter', async () => {
    emulator.putParameter('/gone', 'v');
    await ssm.send(new DeleteParameterCommand({ Name: '/gone' }));
    expect(await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/gone' })))).toBeInstanceOf(ParameterNotFound);
  });
});
