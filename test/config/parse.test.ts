// The KEY=value grammar: what is accepted (and the exact value it yields) and what is refused, at which line.
import { describe, expect, it } from 'vitest';
import { parseKeyValueText } from '../../src/config/parse.ts';
import { UnlockError } from '../../src/errors.ts';

const F = '/etc/luks-ssm/data.conf';

function valuesOf(text: string): Record<string, string> {
  return Object.fromEntries(parseKeyValueText(text, F).entries.map((e) => [e.key, e.value]));
}

function refusal(text: string): string {
  try {
    parseKeyValueText(text, F);
  } catch (error) {
    expect(error).toBeInstanceOf(UnlockError);
    expect((error as UnlockError).kind).toBe('CONFIG');
    return (error as UnlockError).message;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe('accepted syntax', () => {
  it('reads unquoted, double-quoted and single-quoted values, stripping quotes once', () => {
    expect(valuesOf('A=plain\nB="double quoted"\nC=\'single quoted\'\nD="\'inner\'"\nE=\'"inner"\'\n')).toEqual({
      A: 'plain', B: 'double quoted', C: 'single quoted', D: "'inner'", E: '"inner"',
    });
  });

  it('gives line numbers counting comments and blank lines', () => {
    const parsed = parseKeyValueText('# comment\n\n   # indented comment\nA=1\n\nB=2\n', F);
    expect(parsed).toEqual({ file: F, entries: [{ key: 'A', value: '1', line: 4 }, { key: 'B', value: '2', line: 6 }] });
  });

  it('accepts an optional leading export, as shell-sourced defaults files write it', () => {
    expect(valuesOf('export A=1\nexport\tB="two words"\n  export C=3\n')).toEqual({ A: '1', B: 'two words', C: '3' });
  });

  it('keeps = inside values', () => {
    expect(valuesOf('A=x=y=z\nB="k=v,k2=v2"\n')).toEqual({ A: 'x=y=z', B: 'k=v,k2=v2' });
  });

  it('reads empty values as empty strings', () => {
    expect(valuesOf('A=\nB=""\nC=\'\'\n')).toEqual({ A: '', B: '', C: '' });
  });

  it('accepts CRLF line ends, trailing spaces and tabs, and a UTF-8 byte order mark', () => {
    expect(valuesOf('\uFEFFA=1\r\nB=two  \r\nC="three"\t \r\n')).toEqual({ A: '1', B: 'two', C: 'three' });
    expect(parseKeyValueText('\uFEFF\r\nA=1\r\n', F).entries[0]!.line).toBe(2);
  });

  it('keeps the words ini would coerce (true, false, null) and numbers as text', () => {
    expect(valuesOf("A=true\nB=false\nC=null\nD='123'\nE='1e3'\nF=0700\n")).toEqual({
      A: 'true', B: 'false', C: 'null', D: '123', E: '1e3', F: '0700',
    });
  });

  it('keeps #, ; and spaces inside quotes, where sh keeps them too', () => {
    expect(valuesOf('A="a#b"\nB=\'x; y\'\nC="a.service b.service"\n')).toEqual({ A: 'a#b', B: 'x; y', C: 'a.service b.service' });
  });

  it('returns no entries for an empty file or one with only comments', () => {
    expect(parseKeyValueText('', F).entries).toEqual([]);
    expect(parseKeyValueText('# nothing\n\n', F).entries).toEqual([]);
  });
});

describe('refused syntax, with file:line', () => {
  it.each([
    ['[main]\nA=1', `${F}:1: section header '[main]' is not supported: write KEY=value lines only`],
    ['A=1\njust words', `${F}:2: expected KEY=value, found 'just words'`],
    ['export A', `${F}:1: expected KEY=value, found 'export A'`],
    ['; ini comment', `${F}:1: expected KEY=value, found '; ini comment'`],
    ['A = 1', `${F}:1: spaces around '=' are not allowed: write A=value`],
    ['A= 1', `${F}:1: spaces around '=' are not allowed: write A=value`],
    ['a.b=1', `${F}:1: 'a.b' is not a valid key name (letters, digits and _, not starting with a digit)`],
    ['1A=1', `${F}:1: '1A' is not a valid key name (letters, digits and _, not starting with a digit)`],
    ['KEYS[]=1', `${F}:1: 'KEYS[]' is not a valid key name (letters, digits and _, not starting with a digit)`],
    ['__proto__=1', `${F}:1: '__proto__' is not a valid key name (letters, digits and _, not starting with a digit)`],
    ['A=1\n\nA=2', `${F}:3: A is set twice (lines 1 and 3); keep one`],
    ['A=$HOME/x', `${F}:1: A: shell expansion ('$') is not supported: write the value literally`],
    ['A="${X}"', `${F}:1: A: shell expansion ('$') is not supported: write the value literally`],
    ["A='$X'", `${F}:1: A: shell expansion ('$') is not supported: write the value literally`],
    ['A=`id`', `${F}:1: A: shell expansion ('\`') is not supported: write the value literally`],
    ['A=a\\ b', `${F}:1: A: backslash escapes are not supported: write the value literally`],
    ['A="abc', `${F}:1: A: unterminated double quote`],
    ["A='abc", `${F}:1: A: unterminated single quote`],
    ['A="a" # note', `${F}:1: A: unexpected text after the closing quote (inline comments are not supported: put them on their own line)`],
    ['A="a""b"', `${F}:1: A: unexpected text after the closing quote (inline comments are not supported: put them on their own line)`],
    ['A=value # note', `${F}:1: A: inline comments are not supported: put the comment on its own line`],
    ['A=two words', `${F}:1: A: a value with spaces must be quoted, like KEY="a b"`],
    ['A=a#b', `${F}:1: A: '#' in a value must be quoted, like KEY="a#b"`],
    ['A=a;b', `${F}:1: A: ';' in a value must be quoted, like KEY="a;b"`],
    ['A=a"b"', `${F}:1: A: quotes must enclose the whole value, like KEY="a b"`],
    ["A=it's", `${F}:1: A: quotes must enclose the whole value, like KEY="a b"`],
    ['A=a|b', `${F}:1: A: '|' in a value must be quoted, like KEY="a|b"`],
    ['A=~/x', `${F}:1: A: '~' in a value must be quoted, like KEY="a~b"`],
    ['A="a\u0000b"', `${F}:1: A: control characters are not allowed in a value`],
    ['A=a\rb', `${F}:1: A: control characters are not allowed in a value`],
  ])('%j', (text, message) => {
    expect(refusal(text)).toBe(message);
  });

  it('cuts long text quoted back so the message stays one short line', () => {
    const message = refusal(`${'x'.repeat(500)}`);
    expect(message).toBe(`${F}:1: expected KEY=value, found '${'x'.repeat(60)}…'`);
  });

  // Found by the config fuzzer (#14): trim() dropped these, so the value differed from what sh assigns.
  it.each([
    ['a lone CR ending the last line', 'LUKS_DEVICE=/dev/xvdf\r'],
    ['a form feed as the whole value', 'LUKS_DEVICE=\f'],
    ['a vertical tab before the key', '\vLUKS_DEVICE=/dev/xvdf'],
    ['a no-break space after the value', 'LUKS_DEVICE=/dev/xvdf\u00a0'],
  ])('refuses %s, which sh would keep in the value', (_label, text) => {
    expect(refusal(text)).toMatch(new RegExp(`^${F}:1: `));
  });

  it('shows control characters from the file escaped, so the message stays one line', () => {
    expect(refusal('a\rb\u2028c')).toBe(`${F}:1: expected KEY=value, found 'a\\x0db\\u2028c'`);
    expect(refusal('\u0000 =x')).toBe(`${F}:1: spaces around '=' are not allowed: write \\x00=value`);
  });
});
