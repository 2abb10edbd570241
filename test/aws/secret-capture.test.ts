// The handler-to-caller hand-over of secret fields: placeholders in, bytes out, every leftover zeroed.
import { describe, expect, it } from 'vitest';
import { captureField, liftCaptured } from '../../src/aws/secret-capture.ts';

describe('captureField / liftCaptured', () => {
  it('gives the caller the bytes a placeholder stands for, once, and zeroes the raw body', () => {
    const signal = new AbortController().signal;
    const capture = captureField(signal, 'Value');
    const raw = Buffer.from('{"Parameters":[{"Value":"first"},{"Value":"second"}]}');
    const out = JSON.parse(liftCaptured(signal, raw).toString()) as { Parameters: Array<{ Value: string }> };
    expect(raw.every((b) => b === 0)).toBe(true);
    const second = capture.take(out.Parameters[1]?.Value);
    expect(second?.toString()).toBe('second');
    expect(capture.take(out.Parameters[1]?.Value)).toBeUndefined();
    expect(capture.take('first')).toBeUndefined();
    const first = capture.take(out.Parameters[0]?.Value) as Buffer;
    capture.wipe();
    expect(first.toString()).toBe('first');
    expect(second?.toString()).toBe('second');
  });

  it('takeAll hands over every value in body order; after wipe() nothing is left to take', () => {
    const signal = new AbortController().signal;
    const capture = captureField(signal, 'Plaintext');
    liftCaptured(signal, Buffer.from('{"Plaintext":"c2VjcmV0","KeyId":"k"}'));
    expect(capture.takeAll().map(String)).toEqual(['c2VjcmV0']);
    const later = captureField(signal, 'Value');
    const out = JSON.parse(liftCaptured(signal, Buffer.from('{"Value":"x"}')).toString()) as { Value: string };
    later.wipe();
    expect(later.take(out.Value)).toBeUndefined();
    expect(later.takeAll()).toEqual([]);
  });

  it('leaves bodies of requests nobody captures alone', () => {
    const body = Buffer.from('{"Value":"public"}');
    expect(liftCaptured(new AbortController().signal, body)).toBe(body);
    expect(liftCaptured(undefined, body).toString()).toBe('{"Value":"public"}');
  });

  it('a body that does not scan reaches the SDK as one its parser refuses, holding none of the original', () => {
    const signal = new AbortController().signal;
    captureField(signal, 'Value');
    const raw = Buffer.from('{"Parameter":{"Value":"PASSPHRASE-cut-short');
    const out = liftCaptured(signal, raw);
    expect(() => JSON.parse(out.toString()) as unknown).toThrow(SyntaxError);
    expect(out.toString()).not.toContain('PASS');
    expect(raw.every((b) => b === 0)).toBe(true);
  });
});
