// Lifting a field's string values out of a JSON body as bytes: exactly what JSON.parse would give, nothing left behind.
import { describe, expect, it } from 'vitest';
import { JsonShapeError, liftJsonStrings } from '../../src/aws/json-strings.ts';

const mark = (i: number): string => `LSSM${String(i).padStart(8, '0')}`;

describe('liftJsonStrings', () => {
  it('decodes every escape as JSON.parse does, and the body keeps only placeholders', () => {
    const awkward = 'h\u00e9llo "q" \\ / \n\r\t\b\f \ud83d\ude00 \u0001 \u2028 end';
    const body = Buffer.from(JSON.stringify({ Parameter: { Name: '/a', Value: awkward, Version: 3 } }).replace('\\u0001', '\\u0001').replace('/ ', '\\/ '));
    const lifted = liftJsonStrings(body, 'Value', mark);
    expect(lifted.values.map((v) => v.toString('utf8'))).toEqual([awkward]);
    expect(JSON.parse(lifted.body.toString('utf8'))).toEqual({ Parameter: { Name: '/a', Value: mark(0), Version: 3 } });
  });

  it('lone surrogates become U+FFFD, as Buffer.from(string) makes them', () => {
    const lifted = liftJsonStrings(Buffer.from('{"Value":"a\\ud800b\\udc00"}'), 'Value', mark);
    expect(lifted.values[0]).toEqual(Buffer.from('a\ud800b\udc00', 'utf8'));
  });

  it('lifts every occurrence in order, at any depth, and ignores look-alikes inside other strings', () => {
    const json = JSON.stringify({ Parameters: [{ Value: 'one', Name: 'x' }, { Name: 'y', Value: 'two' }], Note: '"Value":"decoy"', Value: 3 });
    const lifted = liftJsonStrings(Buffer.from(json), 'Value', mark);
    expect(lifted.values.map(String)).toEqual(['one', 'two']);
    expect(JSON.parse(lifted.body.toString())).toEqual({ Parameters: [{ Value: mark(0), Name: 'x' }, { Name: 'y', Value: mark(1) }], Note: '"Value":"decoy"', Value: 3 });
  });

  it('lifts a key written with escapes, which JSON.parse names the same (review 13: "V\\u0061lue" got past it)', () => {
    const body = Buffer.from('{"Parameter":{"V\\u0061lue":"S3cret","\\u0056alue":"two","Val\\u0075":"not it"}}');
    expect(JSON.parse(body.toString())).toMatchObject({ Parameter: { Value: 'two' } });
    const lifted = liftJsonStrings(body, 'Value', mark);
    expect(lifted.values.map(String)).toEqual(['S3cret', 'two']);
    expect(lifted.body.toString()).not.toMatch(/S3cret|two/);
    expect(JSON.parse(lifted.body.toString())).toEqual({ Parameter: { Value: mark(1), Valu: 'not it' } });
  });

  it('allows whitespace around the colon and leaves other fields byte for byte', () => {
    const lifted = liftJsonStrings(Buffer.from('{ "Plaintext" :\n "c2VjcmV0" , "KeyId":"k" }'), 'Plaintext', () => '');
    expect(lifted.body.toString()).toBe('{ "Plaintext" :\n "" , "KeyId":"k" }');
    expect(lifted.values.map(String)).toEqual(['c2VjcmV0']);
  });

  it('refuses an unterminated string or a bad escape without quoting the body', () => {
    for (const bad of ['{"Value":"abc', '{"Value":"a\\x"}', '{"Value":"\\u12"}', '{"Val']) {
      expect(() => liftJsonStrings(Buffer.from(bad), 'Value', mark)).toThrow(JsonShapeError);
    }
    try {
      liftJsonStrings(Buffer.from('{"Value":"secret-text\\q"}'), 'Value', mark);
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });
});
