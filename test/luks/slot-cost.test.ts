// luksDump text → each slot's PBKDF cost, and how check and start describe it; the dump below is cryptsetup 2.6.1's, with an argon2id and a pbkdf2 slot.
import { describe, expect, it } from 'vitest';
import { parseLuksDump } from '../../src/luks/header.ts';
import { describeSlotKdf, mib } from '../../src/volume/slot-cost.ts';

const parseSlotKdfs = (dump: string) => parseLuksDump(dump)?.slotKdfs;

const DUMP = "LUKS header information\nVersion:       \t2\nEpoch:         \t3\nMetadata area: \t16384 [bytes]\nKeyslots area: \t16744448 [bytes]\nUUID:          \t10d46794-b866-4cf5-824b-3f8b738c44f5\nLabel:         \t(no label)\nSubsystem:     \t(no subsystem)\nFlags:       \t(no flags)\n\nData segments:\n  0: crypt\n\toffset: 16777216 [bytes]\n\tlength: (whole device)\n\tcipher: aes-xts-plain64\n\tsector: 4096 [bytes]\n\nKeyslots:\n  0: luks2\n\tKey:        512 bits\n\tPriority:   normal\n\tCipher:     aes-xts-plain64\n\tCipher key: 512 bits\n\tPBKDF:      argon2id\n\tTime cost:  4\n\tMemory:     1048576\n\tThreads:    2\n\tSalt:       2d 70 a6 fc 42 a6 f1 da 9a 60 4c 4c 17 a9 25 21 \n\t            a1 84 a5 54 f7 76 4d e5 61 ce 72 e9 ad 8c 30 ac \n\tAF stripes: 4000\n\tAF hash:    sha256\n\tArea offset:32768 [bytes]\n\tArea length:258048 [bytes]\n\tDigest ID:  0\n  1: luks2\n\tKey:        512 bits\n\tPriority:   normal\n\tCipher:     aes-xts-plain64\n\tCipher key: 512 bits\n\tPBKDF:      pbkdf2\n\tHash:       sha512\n\tIterations: 1000\n\tSalt:       06 1f 57 db 63 53 7e c5 21 95 6c 81 c1 85 79 33 \n\t            29 90 f6 66 63 cb 85 5b dc 5d 29 41 c8 e7 5b 1d \n\tAF stripes: 4000\n\tAF hash:    sha512\n\tArea offset:32768 [bytes]\n\tArea length:258048 [bytes]\n\tDigest ID:  0\nTokens:\nDigests:\n  0: pbkdf2\n\tHash:       sha256\n\tIterations: 1000\n\tSalt:       88 d2 3c d2 3c 27 54 0f f5 8d b6 35 e5 12 86 6a \n\t            ee 7b 4d e4 91 b2 23 f2 b9 d5 7d 99 67 69 a1 ed \n\tDigest:     1c 33 e5 98 91 c3 f5 48 65 83 62 fa 3c fb f2 8c \n\t            2e a4 37 dc 03 38 65 25 f2 e9 35 0a 56 c4 cb 1a \n";

describe('parseLuksDump: slot KDFs', () => {
  it('reads every slot of a LUKS2 dump, argon2 and pbkdf2 alike', () => {
    expect(parseSlotKdfs(DUMP)).toEqual([
      { slot: 0, type: 'argon2id', timeCost: 4, memoryKib: 1048576, threads: 2 },
      { slot: 1, type: 'pbkdf2', hash: 'sha512', iterations: 1000 },
    ]);
  });

  it('a LUKS1 dump (no Keyslots: section) and the segment and digest sections give nothing', () => {
    expect(parseSlotKdfs('LUKS header information for x\n\nVersion:       \t1\nKey Slot 0: ENABLED\n\tIterations:         \t1000\n')).toEqual([]);
    expect(parseSlotKdfs(DUMP.slice(0, DUMP.indexOf('Keyslots:')))).toEqual([]);
    expect(parseSlotKdfs('Usage: cryptsetup …')).toBeUndefined();
  });
});

describe('describeSlotKdf', () => {
  it('says what costs: memory and time for argon2, hash and iterations for pbkdf2', () => {
    const [argon, pbkdf2] = parseSlotKdfs(DUMP)!;
    expect(describeSlotKdf(argon!)).toBe('argon2id, 1024 MiB memory, time cost 4, 2 threads');
    expect(describeSlotKdf(pbkdf2!)).toBe('pbkdf2-sha512, 1000 iterations');
    expect(mib(512)).toBe('512 KiB');
  });
});
