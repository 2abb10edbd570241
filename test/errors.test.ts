// The error line's last guards: text of external origin is printable, a parser's message is never shown.
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, printable, toUnlockError, UnlockError } from '../src/errors.ts';

describe('printable', () => {
  it('shows C0, DEL and C1 control characters and the Unicode line breaks escaped and keeps everything else', () => {
    expect(printable('a\nb\r\x1b[31m\x00\x7f\x9b tab\tü € \u2028\u2029')).toBe('a\\x0ab\\x0d\\x1b[31m\\x00\\x7f\\x9b tab\\x09ü € \\u2028\\u2029');
  });
});

describe('toUnlockError', () => {
  it('reports a SyntaxError by its name only: JSON.parse quotes the text it was given', () => {
    let thrown: unknown;
    try {
      JSON.parse('hunter2-secret-passphrase');
    } catch (e) {
      thrown = e;
    }
    const failure = toUnlockError(thrown);
    expect([failure.kind, failure.message]).toEqual(['INTERNAL', 'unexpected error: SyntaxError (its text is not shown: it can quote the input)']);
    expect(String((failure.cause as Error).message)).not.toContain('hunter2');
  });

  it('shows another foreign error\'s message on one line', () => {
    expect(toUnlockError(new TypeError('x\nforged line')).message).toBe('unexpected error: x\\x0aforged line');
  });

  it('passes an UnlockError through', () => {
    const error = new UnlockError('BUSY', 'busy');
    expect(toUnlockError(error)).toBe(error);
  });
});

describe('EXIT_CODES', () => {
  it('is written in code order, as --help, the man page and the README list it (review 8)', () => {
    const codes = Object.values(EXIT_CODES).map((row) => row.code);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
  });
});
