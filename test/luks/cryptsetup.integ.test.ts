// Real cryptsetup on small LUKS2 image files: awkward passphrase bytes must match exactly, one byte off must not.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import { isLuks, luksUuid, testPassphrase } from '../../src/luks/cryptsetup.ts';
import { Secret } from '../../src/secret/secret.ts';

const CRYPTSETUP = DEFAULT_EXEC_PATH.split(':')
  .map((dir) => join(dir, 'cryptsetup'))
  .find((file) => existsSync(file));
const canRun = process.getuid?.() === 0 && CRYPTSETUP !== undefined;

const UUID = '0b6d6a2c-3c1e-4f55-9d4e-2f7f3a1c9e11';
const run = createRunner();
let dir: string;

/**
 * Formats a 32 MiB LUKS2 image (the LUKS2 header alone takes 16 MiB) with `key`; the TEST key file is deleted
 * right after. A fixed pbkdf2 iteration count skips cryptsetup's PBKDF benchmark (seconds per format).
 */
async function formatImage(name: string, key: Buffer, uuid?: string): Promise<string> {
  const image = join(dir, `${name}.img`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(image, '');
  await truncate(image, 32 * 1024 * 1024);
  await writeFile(keyFile, key, { mode: 0o600 });
  try {
    const args = ['luksFormat', '-q', '--type', 'luks2', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000'];
    execFileSync(CRYPTSETUP!, [...args, ...(uuid ? ['--uuid', uuid] : []), '--key-file', keyFile, image], {
      stdio: 'ignore',
      timeout: 30_000,
    });
  } finally {
    await rm(keyFile, { force: true });
  }
  return image;
}

const flipLast = (b: Buffer): Buffer => Buffer.concat([b.subarray(0, -1), Buffer.from([b.at(-1)! ^ 1])]);

describe.skipIf(!canRun)('cryptsetup on LUKS2 image files (root)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-integ-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bigKey = randomBytes(4096);
  it.each([
    ['trailing newline', Buffer.from('hunter2\n'), Buffer.from('hunter2')],
    ['spaces', Buffer.from('  two words  '), Buffer.from('two words')],
    ['NUL bytes', Buffer.from('ab\0cd\0'), Buffer.from('ab')],
    ['non-UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28]), Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x29])],
    ['4 KiB of random bytes', bigKey, bigKey.subarray(0, 4095)],
  ])('testPassphrase: %s opens, one byte off does not', async (name, key, near) => {
    const image = await formatImage(name.replace(/\W+/g, '-'), key);
    expect(await testPassphrase(run, image, Secret.copyOf(key))).toBe(true);
    expect(await testPassphrase(run, image, Secret.copyOf(near))).toBe(false);
    expect(await testPassphrase(run, image, Secret.copyOf(flipLast(key)))).toBe(false);
    expect(await testPassphrase(run, image, Secret.copyOf(Buffer.concat([key, Buffer.from('\n')])))).toBe(false);
  });

  it('isLuks tells a LUKS image from a zero-filled file; luksUuid reads the UUID', async () => {
    const image = await formatImage('uuid', Buffer.from('x'), UUID);
    const zero = join(dir, 'zero.img');
    await writeFile(zero, Buffer.alloc(4 * 1024 * 1024));
    expect(await isLuks(run, image)).toBe(true);
    expect(await isLuks(run, zero)).toBe(false);
    expect(await luksUuid(run, image)).toBe(UUID);
    await expect(luksUuid(run, zero)).rejects.toMatchObject({ kind: 'NOT_LUKS' });
    await expect(testPassphrase(run, zero, Secret.copyOf(Buffer.from('x')))).rejects.toMatchObject({
      kind: 'NOT_LUKS',
      message: `${zero} is not a LUKS volume, refusing.`,
    });
  });
});
