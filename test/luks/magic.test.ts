// The LUKS magic read that spares start a cryptsetup process: a yes only for a real LUKS1/LUKS2 header start.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXEC_PATH } from '../../src/exec/exec-path.ts';
import { createRunner } from '../../src/exec/run.ts';
import { isLuks } from '../../src/luks/cryptsetup.ts';
import { hasLuksMagic } from '../../src/luks/magic.ts';
import { createFakePrograms } from '../exec/fake-programs.ts';

const MAGIC = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe];
const CRYPTSETUP = DEFAULT_EXEC_PATH.split(':').map((d) => join(d, 'cryptsetup')).find((f) => existsSync(f));
const canFormat = process.getuid?.() === 0 && CRYPTSETUP !== undefined;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-magic-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: number[], size = 4096): Promise<string> {
  const path = join(dir, name);
  const content = Buffer.alloc(size);
  Buffer.from(bytes).copy(content);
  await writeFile(path, content.subarray(0, Math.max(size, bytes.length)));
  return path;
}

describe('hasLuksMagic', () => {
  it.each([
    ['a LUKS1 header start', [...MAGIC, 0, 1], true],
    ['a LUKS2 header start', [...MAGIC, 0, 2], true],
    ['the magic with an unknown version (3)', [...MAGIC, 0, 3], false],
    ['the magic with version 0', [...MAGIC, 0, 0], false],
    ['the LUKS2 secondary header magic "SKUL" at the start', [0x53, 0x4b, 0x55, 0x4c, 0xba, 0xbe, 0, 2], false],
    ['zeros', [], false],
  ])('%s: %s', async (name, bytes, expected) => {
    expect(await hasLuksMagic(await file(name.replace(/\W+/g, '-'), bytes as number[]))).toBe(expected);
  });

  it('is false for a file shorter than the magic and version, and for a missing path', async () => {
    const short = join(dir, 'short');
    await writeFile(short, Buffer.from(MAGIC.slice(0, 6)));
    expect(await hasLuksMagic(short)).toBe(false);
    expect(await hasLuksMagic(join(dir, 'missing'))).toBe(false);
  });
});

describe('isLuks takes a yes from the magic, a no only from cryptsetup', () => {
  it('starts no cryptsetup for a LUKS header; asks cryptsetup (here: a fake saying yes) when the magic is missing', async () => {
    const fakes = await createFakePrograms(['cryptsetup']);
    try {
      const run = createRunner({ path: fakes.path });
      expect(await isLuks(run, await file('luks2', [...MAGIC, 0, 2]))).toBe(true);
      expect(await fakes.calls('cryptsetup')).toEqual([]);
      const damaged = await file('damaged-primary', []);
      expect(await isLuks(run, damaged)).toBe(true);
      expect((await fakes.calls('cryptsetup')).map((c) => c.argv)).toEqual([['isLuks', '--', damaged]]);
    } finally {
      await fakes.cleanup();
    }
  });

  it.skipIf(!canFormat)('real cryptsetup: LUKS1 and LUKS2 images by the magic; a LUKS2 image whose primary magic is wiped is still LUKS (secondary header)', async () => {
    const run = createRunner();
    for (const type of ['luks1', 'luks2']) {
      const image = join(dir, `${type}.img`);
      const keyFile = join(dir, `${type}.key`);
      await writeFile(image, '');
      await truncate(image, 32 * 1024 * 1024);
      await writeFile(keyFile, 'x', { mode: 0o600 });
      execFileSync(CRYPTSETUP!, ['luksFormat', '-q', '--type', type, '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', keyFile, image], { stdio: 'ignore', timeout: 30_000 });
      expect(await hasLuksMagic(image)).toBe(true);
      expect(await isLuks(run, image)).toBe(true);
    }
    const image = join(dir, 'luks2.img');
    const handle = await open(image, 'r+');
    await handle.write(Buffer.alloc(8), 0, 8, 0);
    await handle.close();
    expect(await hasLuksMagic(image)).toBe(false);
    expect(await isLuks(run, image)).toBe(true);
  });
});
