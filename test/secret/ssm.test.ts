// fetchSsmSecret/fetchSsmHistory with a fake SSM send: request shape, exact bytes, refusals, history order.
import { describe, expect, it } from 'vitest';
import { GetParameterCommand, GetParameterHistoryCommand, ThrottlingException } from '@aws-sdk/client-ssm';
import type { AwsContext } from '../../src/aws/clients.ts';
import { UnlockError } from '../../src/errors.ts';
import { SECRET_MAX_BYTES } from '../../src/secret/secret.ts';
import { liftCaptured } from '../../src/aws/secret-capture.ts';
import { fetchSsmHistory, fetchSsmSecret, parameterNameOf } from '../../src/secret/ssm.ts';
import { createFakeClock, createRecordingLogger } from '../aws/fakes.ts';

type Answer = object | Error;

/**
 * An AwsContext whose ssm().send answers from a queue and records each command's input. An answer goes through
 * JSON and the request handler's capture, as a real one does: the output's Value is only a placeholder.
 */
function fakeAws(answers: Answer[]) {
  const inputs: Array<{ command: string; input: Record<string, unknown> }> = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }, options: { abortSignal?: AbortSignal } = {}) => {
    inputs.push({ command: command.constructor.name, input: command.input });
    const next = answers.shift();
    if (next === undefined) throw new Error('no answer queued');
    if (next instanceof Error) throw next;
    return JSON.parse(liftCaptured(options.abortSignal, Buffer.from(JSON.stringify(next))).toString('utf8')) as unknown;
  };
  const aws = { region: 'eu-west-1', ssm: () => ({ send }), kms: async () => { throw new Error('unused'); } } as unknown as AwsContext;
  return { aws, inputs };
}

const parameter = (value: string | undefined, extra: object = {}) => ({
  Parameter: { Name: '/luks/data', Type: 'SecureString', Value: value, Version: 4, ARN: 'arn:aws:ssm:eu-west-1:111122223333:parameter/luks/data', ...extra },
});

async function fetchWith(answers: Answer[], selector?: { version: number } | { label: string }) {
  const clock = createFakeClock();
  const fake = fakeAws(answers);
  const result = fetchSsmSecret({ aws: fake.aws, name: '/luks/data', selector, deadline: clock.now() + 30_000, clock });
  return { result, ...fake, clock };
}

describe('parameterNameOf', () => {
  it('appends :version or :label', () => {
    expect(parameterNameOf('/x', undefined)).toBe('/x');
    expect(parameterNameOf('/x', { version: 3 })).toBe('/x:3');
    expect(parameterNameOf('/x', { label: 'prod' })).toBe('/x:prod');
  });
});

describe('fetchSsmSecret (fake SSM)', () => {
  it('asks GetParameter WithDecryption for name:selector and returns the exact bytes with metadata', async () => {
    const answer = parameter(' pass\nword\0 ');
    const { result, inputs } = await fetchWith([answer], { label: 'prod' });
    const fetched = await result;
    expect(inputs).toEqual([{ command: GetParameterCommand.name, input: { Name: '/luks/data:prod', WithDecryption: true } }]);
    expect(fetched.secret.bytes().equals(Buffer.from(' pass\nword\0 ', 'utf8'))).toBe(true);
    expect(fetched).toMatchObject({ name: '/luks/data', version: 4, arn: 'arn:aws:ssm:eu-west-1:111122223333:parameter/luks/data' });
  });

  it('retries a throttled call (fake clock: no real sleeping)', async () => {
    const throttled = new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    const { result, inputs, clock } = await fetchWith([throttled, parameter('v')]);
    expect((await result).secret.bytes().toString()).toBe('v');
    expect(inputs).toHaveLength(2);
    expect(clock.sleeps).toHaveLength(1);
  });

  it.each([
    ['a String', parameter('plain', { Type: 'String' }), 'SSM parameter /luks/data is a String, not a SecureString, refusing.'],
    ['a StringList', parameter('a,b', { Type: 'StringList' }), 'SSM parameter /luks/data is a StringList, not a SecureString, refusing.'],
    // A garbled answer can carry anything in Type (the fuzzer of #14 saw passphrase bytes there): never echoed.
    ['a garbled Type', parameter('v', { Type: 'hunter2-passphrase' }), 'SSM parameter /luks/data is a parameter of another type, not a SecureString, refusing.'],
    ['an empty value', parameter(''), 'SSM parameter /luks/data is empty, refusing.'],
    ['a value over 16 MiB', parameter('x'.repeat(SECRET_MAX_BYTES + 1)), 'SSM parameter /luks/data is larger than 16 MiB, refusing.'],
  ])('refuses %s with CONFIG', async (_label, answer, message) => {
    const { result } = await fetchWith([answer]);
    const err = (await result.catch((e: unknown) => e)) as UnlockError;
    expect(err).toBeInstanceOf(UnlockError);
    expect(err.kind).toBe('CONFIG');
    expect(err.message).toBe(message);
  });

  it.each([
    ['a Value that is not a string', parameter(undefined, { Value: 12345 }), 'its Value is not a string'],
    ['a Version that is text', parameter('v', { Version: 'hunter2-passphrase' }), 'its Version is not a version number'],
    ['a Version that is no whole number', parameter('v', { Version: 1.5 }), 'its Version is not a version number'],
  ])('refuses an answer with %s as malformed (69, retryable), naming no field\'s content (review 13)', async (_label, answer, what) => {
    const { result } = await fetchWith([answer]);
    const err = (await result.catch((e: unknown) => e)) as UnlockError;
    expect(err).toMatchObject({ kind: 'AWS_UNAVAILABLE', retryable: true, message: `The answer for SSM parameter /luks/data is malformed (${what}), refusing` });
    expect(JSON.stringify([err.message, err.hint])).not.toMatch(/hunter2|12345/);
  });

  it('names the configured parameter, whatever Name the answer carries', async () => {
    const { result } = await fetchWith([parameter('v', { Name: { a: 'hunter2-passphrase' } })]);
    expect((await result).name).toBe('/luks/data');
  });

  it('accepts exactly 16 MiB', async () => {
    const { result } = await fetchWith([parameter('x'.repeat(SECRET_MAX_BYTES))]);
    expect((await result).secret.length).toBe(SECRET_MAX_BYTES);
  });
});

describe('fetchSsmHistory (fake SSM)', () => {
  const version = (v: number, value: string, type = 'SecureString') => ({ Name: '/luks/data', Type: type, Value: value, Version: v });

  it('skips a version whose Version is no version number, and logs no text of it (review 14)', async () => {
    const clock = createFakeClock();
    const log = createRecordingLogger();
    const { aws } = fakeAws([{ Parameters: [version(2, 'two'), { ...version(3, 'three'), Version: 'hunter2-passphrase' }] }]);
    const history = await fetchSsmHistory({ aws, name: '/luks/data', deadline: clock.now() + 30_000, clock, log, limit: 3 });
    expect(history.map((h) => h.version)).toEqual([2]);
    expect(log.lines.map((l) => l.msg)).toEqual(['SSM parameter /luks/data:? is not usable, ignoring.']);
    expect(JSON.stringify(log.lines)).not.toContain('hunter2');
  });

  it('pages through the history and returns the newest usable versions first, skipping unusable ones', async () => {
    const clock = createFakeClock();
    const log = createRecordingLogger();
    const { aws, inputs } = fakeAws([
      { Parameters: [version(1, 'one'), version(2, 'two')], NextToken: 'next' },
      { Parameters: [version(3, 'three', 'String'), version(4, 'four'), version(5, 'five')] },
    ]);
    const history = await fetchSsmHistory({ aws, name: '/luks/data', deadline: clock.now() + 30_000, clock, log, limit: 3 });
    expect(history.map((h) => [h.version, h.secret.bytes().toString()])).toEqual([[5, 'five'], [4, 'four'], [2, 'two']]);
    expect(inputs.map((i) => i.command)).toEqual([GetParameterHistoryCommand.name, GetParameterHistoryCommand.name]);
    expect(inputs[0]?.input).toMatchObject({ Name: '/luks/data', WithDecryption: true });
    expect(inputs[1]?.input).toMatchObject({ NextToken: 'next' });
    expect(log.lines.map((l) => l.msg)).toEqual(['SSM parameter /luks/data:3 is not usable, ignoring.']);
    expect(JSON.stringify(log.lines)).not.toContain('three');
  });
});
