// The KEY=value grammar of config files: a line scanner that owns the grammar, then ini splits the vetted lines.
import ini from 'ini';
import { printable, UnlockError } from '../errors.ts';

/*
 * The grammar is the subset of sh(1) assignments on which sh and luks-ssm agree on every value, so
 * one file can still be sourced by a shell script (the luks-mount.sh design) and mean the same there.
 * Anything outside it is an error naming file:line, never a guess:
 *   - blank lines and lines whose first non-blank character is '#' are comments;
 *   - KEY=value, with an optional leading `export ` (shell-sourced defaults files use it);
 *     KEY is [A-Za-z_][A-Za-z0-9_]*, no spaces around '=' (sh would run KEY as a command);
 *   - value: unquoted (no spaces, quotes or sh metacharacters), or wholly "double" or 'single'
 *     quoted; quotes are stripped once; '=' inside a value is kept; an empty value is allowed;
 *   - no expansion or escapes: '$', '`' and '\' are errors anywhere (write values literally);
 *   - no [section] lines, no inline comments, no duplicate keys within one file.
 * Tolerated although sh would not: a UTF-8 byte order mark and CRLF line ends (files edited elsewhere).
 * ini's own grammar differs (';' comments, JSON escapes in quotes, true/false coercion, sections),
 * so ini only ever sees lines this scanner has already accepted, re-quoted in JSON form.
 */

export interface ConfigEntry {
  key: string;
  value: string;
  /** 1-based line number in the file. */
  line: number;
}

export interface ParsedConfigFile {
  file: string;
  /** In file order; each key at most once. */
  entries: ConfigEntry[];
}

const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BLANKS_AROUND = /^[ \t]+|[ \t]+$/g;
const EXPORT_PREFIX = /^export[ \t]+/;
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/;
const EXPANSION = /[$`]/;
const UNQUOTED_SPECIAL = /[&|<>();~]/;

interface ScannedValue {
  value: string;
  quoted: boolean;
}

/** Parses one file's text. Pure: `file` is used only in messages. */
export function parseKeyValueText(text: string, file: string): ParsedConfigFile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const scanned: Array<ConfigEntry & { quoted: boolean }> = [];
  const firstLine = new Map<string, number>();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const fail = (problem: string): never => {
      throw new UnlockError('CONFIG', `${file}:${line}: ${problem}`);
    };
    // Only blanks sh itself skips: trim() would also drop a lone CR, \f, \v or U+00A0 that sh keeps in the value.
    const content = raw.replace(BLANKS_AROUND, '');
    if (content === '' || content.startsWith('#')) return;
    if (content.startsWith('[')) fail(`section header ${quote(content)} is not supported: write KEY=value lines only`);
    const assignment = content.replace(EXPORT_PREFIX, '');
    const eq = assignment.indexOf('=');
    if (eq < 0) fail(`expected KEY=value, found ${quote(content)}`);
    const key = assignment.slice(0, eq);
    if (key.trim() !== key || /[ \t]/.test(assignment[eq + 1] ?? '')) {
      fail(`spaces around '=' are not allowed: write ${printable(key.trim().slice(0, 60))}=value`);
    }
    if (!KEY_NAME.test(key) || key === '__proto__') {
      fail(`${quote(key)} is not a valid key name (letters, digits and _, not starting with a digit)`);
    }
    const seen = firstLine.get(key);
    if (seen !== undefined) fail(`${key} is set twice (lines ${seen} and ${line}); keep one`);
    firstLine.set(key, line);
    const problem = checkValueSyntax(assignment.slice(eq + 1));
    if (typeof problem === 'string') fail(`${key}: ${problem}`);
    scanned.push({ key, line, ...(problem as ScannedValue) });
  });
  return { file, entries: splitWithIni(scanned) };
}

/** Returns the value, or a phrase saying why the raw text is outside the grammar. */
function checkValueSyntax(raw: string): ScannedValue | string {
  if (CONTROL.test(raw)) return 'control characters are not allowed in a value';
  if (EXPANSION.test(raw)) return `shell expansion (${quote(raw.match(EXPANSION)![0])}) is not supported: write the value literally`;
  if (raw.includes('\\')) return 'backslash escapes are not supported: write the value literally';
  const open = raw[0];
  if (open === '"' || open === "'") {
    const close = raw.indexOf(open, 1);
    if (close < 0) return `unterminated ${open === '"' ? 'double' : 'single'} quote`;
    if (raw.slice(close + 1).trim() !== '') {
      return 'unexpected text after the closing quote (inline comments are not supported: put them on their own line)';
    }
    return { value: raw.slice(1, close), quoted: true };
  }
  if (/\s#/.test(raw)) return 'inline comments are not supported: put the comment on its own line';
  if (/\s/.test(raw)) return 'a value with spaces must be quoted, like KEY="a b"';
  if (/["']/.test(raw)) return 'quotes must enclose the whole value, like KEY="a b"';
  if (raw.includes('#')) return "'#' in a value must be quoted, like KEY=\"a#b\"";
  const special = raw.match(UNQUOTED_SPECIAL);
  if (special) return `${quote(special[0])} in a value must be quoted, like KEY="a${special[0]}b"`;
  return { value: raw, quoted: false };
}

/** ini does the key/value split on lines already vetted above; its result must match the scan exactly. */
function splitWithIni(scanned: Array<ConfigEntry & { quoted: boolean }>): ConfigEntry[] {
  const normalized = scanned.map((e) => `${e.key}=${e.quoted ? JSON.stringify(e.value) : e.value}`).join('\n');
  const decoded = ini.decode(normalized) as Record<string, unknown>;
  return scanned.map(({ key, line, value }) => {
    const fromIni = decoded[key];
    // ini turns unquoted true/false/null into JSON values; the text is what the file says.
    const text = fromIni === null || typeof fromIni === 'boolean' ? String(fromIni) : fromIni;
    if (text !== value) throw new Error(`config grammar and ini disagree on ${key} (line ${line})`);
    return { key, value, line };
  });
}

/**
 * Quotes text from a file for a message, cut short so the message stays one readable line. Control
 * characters are shown escaped (\x0d, \x0b, \u2028): a lone CR or a line separator from the file must not
 * reach the journal raw (found by the config fuzzer, #14).
 */
export function quote(text: string, max = 60): string {
  return `'${printable(text.length > max ? `${text.slice(0, max)}…` : text)}'`;
}

