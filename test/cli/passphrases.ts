// The awkward passphrases every CLI scenario runs with: bytes a shell, a JSON log or a C string would mangle.
import { randomBytes } from 'node:crypto';

export interface Passphrase {
  /** Also the volume name. */
  name: string;
  key: Buffer;
  /** How the parameter stores it: text is the UTF-8 value itself, base64 is decoded by luks-ssm. */
  encoding: 'text' | 'base64';
  /** The SSM parameter value. */
  ssmValue: string;
  /** What a careless implementation would pass instead (trimmed, cut at NUL, one byte off): must not open. */
  near: Buffer;
}

/** A distinctive random part, so the secret scan cannot match anything by chance. */
const token = (): string => randomBytes(12).toString('base64url');
const PRINTABLE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !#%&()*+,-./:;<=>?@[]^_{|}~';

function text(name: string, key: Buffer, near: Buffer): Passphrase {
  if (!Buffer.from(key.toString('utf8'), 'utf8').equals(key)) throw new Error(`${name}: not UTF-8, use base64`);
  return { name, key, encoding: 'text', ssmValue: key.toString('utf8'), near };
}

function printable(length: number): Buffer {
  return Buffer.from(Array.from(randomBytes(length), (b) => PRINTABLE[b % PRINTABLE.length]).join(''), 'latin1');
}

/** Fresh random passphrases for one test file. */
export function passphrases(): Passphrase[] {
  const newline = Buffer.from(`${token()} horse battery\n`);
  const spaces = Buffer.from(`  ${token()} two  words  `);
  const nul = Buffer.from(`${token()}\0${token()}\0`);
  const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x0a]), randomBytes(24)]);
  const long = printable(4096);
  return [
    text('trailing-newline', newline, newline.subarray(0, -1)),
    text('spaces', spaces, Buffer.from(spaces.toString().trim())),
    text('nul-bytes', nul, nul.subarray(0, nul.indexOf(0))),
    {
      name: 'non-utf8',
      key: binary,
      encoding: 'base64',
      ssmValue: binary.toString('base64'),
      // One bit off, never into a line break (a key ending in one gets another hint: test/cli/check.integ.test.ts).
      near: Buffer.concat([binary.subarray(0, -1), Buffer.from([binary.at(-1)! ^ (binary.at(-1) === 0x0b ? 2 : 1)])]),
    },
    text('4-kib', long, long.subarray(0, 4095)),
  ];
}
