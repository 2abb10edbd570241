// luksDump text and `cryptsetup --version` as old and new cryptsetup print them (samples from 2.3.7 and 2.6.1).
import { describe, expect, it } from 'vitest';
import { parseLuksDump } from '../../src/luks/header.ts';
import { formatVersion, isOlder, parseCryptsetupVersion } from '../../src/luks/version.ts';

/** Debian 11's cryptsetup 2.3.7, trimmed: two key slots, two tokens (one another tool's), digests after them. */
const DUMP_2_3_7 = [
  'LUKS header information',
  'Version:       \t2',
  'Epoch:         \t6',
  'Metadata area: \t16384 [bytes]',
  'Keyslots area: \t16744448 [bytes]',
  'UUID:          \t738de1a9-05e7-4cda-80d8-22f13508f32f',
  'Flags:       \t(no flags)',
  '',
  'Data segments:',
  '  0: crypt',
  '\toffset: 16777216 [bytes]',
  '',
  'Keyslots:',
  '  0: luks2',
  '\tKey:        512 bits',
  '\tSalt:       b1 6e b7 4f 51 3c 1f fd c3 b2 58 59 f9 0f 8a 71 ',
  '\t            0a 06 06 45 12 3f 82 13 b2 92 75 3a f9 dd ae 23 ',
  '\tDigest ID:  0',
  '  3: luks2',
  '\tKey:        512 bits',
  'Tokens:',
  '  4: luks-ssm-kms',
  '\tKeyslot:  3',
  '  1: systemd-recovery',
  'Digests:',
  '  0: pbkdf2',
  '\tHash:       sha256',
  '',
].join('\n');

describe('parseLuksDump', () => {
  it('reads key slot ids and token ids and types, nothing from other sections', () => {
    expect(parseLuksDump(DUMP_2_3_7)).toEqual({ version: 2, keyslots: [0, 3], slotKdfs: [{ slot: 0, type: 'unknown' }, { slot: 3, type: 'unknown' }], tokens: [{ id: 1, type: 'systemd-recovery' }, { id: 4, type: 'luks-ssm-kms' }] });
  });

  it('an empty header, LUKS1, and text that is no luksDump', () => {
    expect(parseLuksDump('Version:       \t2\nKeyslots:\nTokens:\nDigests:\n  0: pbkdf2\n')).toEqual({ version: 2, keyslots: [], slotKdfs: [], tokens: [] });
    expect(parseLuksDump('LUKS header information for /dev/x\n\nVersion:       \t1\nKey Slot 0: ENABLED\n')?.version).toBe(1);
    expect(parseLuksDump('Usage: cryptsetup …')).toBeUndefined();
  });
});

describe('cryptsetup --version', () => {
  it('parses the old and the new form, compares, formats', () => {
    expect(parseCryptsetupVersion('cryptsetup 2.3.7\n')).toEqual([2, 3, 7]);
    expect(parseCryptsetupVersion('cryptsetup 2.6.1 flags: UDEV BLKID KEYRING KERNEL_CAPI \n')).toEqual([2, 6, 1]);
    expect(parseCryptsetupVersion('something else')).toBeUndefined();
    expect(isOlder([2, 0, 6], [2, 1, 0])).toBe(true);
    expect(isOlder([2, 1, 0], [2, 1, 0])).toBe(false);
    expect(isOlder([2, 2, 2], [2, 1, 0])).toBe(false);
    expect([formatVersion([2, 1, 0]), formatVersion([2, 3, 7])]).toEqual(['2.1', '2.3.7']);
  });
});
