// Real cryptsetup on LUKS2 image files: key slots, both keys of luksAddKey on stdin, kill refusals, tokens, blank checks.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeContents, formatLuks2, isBlank, probeDevice } from '../../src/luks/format.ts';
import { addKey, killSlot, readLuksHeader, slotOpenedBy } from '../../src/luks/keyslots.ts';
import { assignToken, freeTokenId, importToken, kmsTokenJson, kmsTokensOf, removeToken } from '../../src/luks/token.ts';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { canRunCryptsetup, createImageDir, FAST_PBKDF, key, run, type ImageDir } from '../lifecycle/images.ts';

let images: ImageDir;

describe.skipIf(!canRunCryptsetup)('key slots on LUKS2 images (root)', () => {
  beforeAll(async () => {
    images = await createImageDir();
  });
  afterAll(async () => {
    await images.cleanup();
  });

  it('addKey takes both keys on stdin: the exact bytes of each open, in their own slots', async () => {
    const image = await images.luks('add', 'old key');
    await addKey(run, image, key('old key'), key('new\nkey\0with bytes'), FAST_PBKDF);
    expect(await slotOpenedBy(run, image, key('old key'))).toBe(0);
    expect(await slotOpenedBy(run, image, key('new\nkey\0with bytes'))).toBe(1);
    expect(await slotOpenedBy(run, image, key('new\nkey\0with'))).toBeUndefined();
    expect(await slotOpenedBy(run, image, key('old keynew'))).toBeUndefined();
    expect((await readLuksHeader(run, image)).keyslots).toEqual([0, 1]);
  });

  it('addKey with a wrong existing key is WRONG_PASSPHRASE and adds nothing', async () => {
    const image = await images.luks('add-wrong', 'right');
    await expect(addKey(run, image, key('wrong'), key('new'), FAST_PBKDF)).rejects.toMatchObject({
      kind: 'WRONG_PASSPHRASE',
      message: `Failed to add a key slot to ${image}: the existing key opens no key slot`,
    });
    expect((await readLuksHeader(run, image)).keyslots).toEqual([0]);
  });

  it('killSlot needs a key of another slot: it never removes the last key that works', async () => {
    const image = await images.luks('kill', 'one');
    await addKey(run, image, key('one'), key('two'), FAST_PBKDF);
    await expect(killSlot(run, image, 1, key('two'))).rejects.toMatchObject({ kind: 'WRONG_PASSPHRASE' });
    await expect(killSlot(run, image, 0, key('zero'))).rejects.toMatchObject({ kind: 'WRONG_PASSPHRASE' });
    await killSlot(run, image, 0, key('two'));
    expect(await testPassphrase(run, image, key('one'))).toBe(false);
    expect(await testPassphrase(run, image, key('two'))).toBe(true);
    expect((await readLuksHeader(run, image)).keyslots).toEqual([1]);
  });

  it('tokens: import pending (no slot), assign (a bound copy, then the old one goes), newest generation first, removal', async () => {
    const image = await images.luks('token', 'k');
    const data = (generation: number) => ({ keyId: 'arn:aws:kms:us-east-1:111122223333:key/x', ciphertext: 'Y2lwaGVy', context: { a: 'b' }, generation, created: '2026-01-01T00:00:00.000Z' });
    await importToken(run, image, kmsTokenJson(data(1)), { tokenId: 0 });
    await importToken(run, image, JSON.stringify({ type: 'other-tool', keyslots: [] }), { tokenId: 1 });
    await importToken(run, image, kmsTokenJson(data(2)), { tokenId: 2 });
    expect(await assignToken(run, image, await readLuksHeader(run, image), 0, 0)).toBe(3);
    let header = await readLuksHeader(run, image);
    expect(kmsTokensOf(header).map((t) => [t.tokenId, t.generation, t.keyslots])).toEqual([[2, 2, []], [3, 1, [0]]]);
    expect(kmsTokensOf(header)[1]).toMatchObject({ keyId: data(1).keyId, ciphertext: 'Y2lwaGVy', context: { a: 'b' } });
    expect(header.tokens.find((t) => t.id === 1)).toEqual({ id: 1, type: 'other-tool', keyslots: [], json: { type: 'other-tool', keyslots: [] } });
    expect(freeTokenId(header)).toBe(0);
    await removeToken(run, image, 3);
    header = await readLuksHeader(run, image);
    expect(header.tokens.map((t) => t.id)).toEqual([1, 2]);
    expect(freeTokenId(header)).toBe(0);
  });

  it('an assignment interrupted between import and removal: the bound copy is listed first', async () => {
    const image = await images.luks('token-twice', 'k');
    const json = kmsTokenJson({ keyId: 'k', ciphertext: 'Yw==', context: {}, generation: 1, created: '' });
    await importToken(run, image, json, { tokenId: 5 });
    await importToken(run, image, json, { tokenId: 0, keySlot: 0 });
    expect(kmsTokensOf(await readLuksHeader(run, image)).map((t) => [t.tokenId, t.keyslots])).toEqual([[0, [0]], [5, []]]);
  });

  it('a LUKS1 header is refused with the conversion that fixes it', async () => {
    const image = await images.blank('luks1');
    execFileSync('cryptsetup', ['luksFormat', '--batch-mode', '--type', 'luks1', '--pbkdf-force-iterations', '1000', '--key-file=-', image], { input: 'k' });
    await expect(readLuksHeader(run, image)).rejects.toMatchObject({
      kind: 'NOT_LUKS',
      message: `${image} is LUKS1, not LUKS2; luks-ssm enroll and rotate need LUKS2, refusing.`,
      hint: `convert it: cryptsetup convert --type luks2 ${image}`,
    });
  });

  it('a token naming a slot that does not exist is refused by cryptsetup', async () => {
    const image = await images.luks('token-bad', 'k');
    const json = JSON.stringify({ type: 'luks-ssm-kms', keyslots: ['7'], key_id: 'k', ciphertext: 'c', context: {} });
    await expect(importToken(run, image, json, { tokenId: 0 })).rejects.toMatchObject({ kind: 'SYSTEM' });
  });

  it('probeDevice: blank, filesystem-less data, LUKS', async () => {
    const blank = await images.blank('blank');
    expect(isBlank(await probeDevice(run, blank))).toBe(true);
    const data = await images.blank('data');
    await writeFile(data, Buffer.from('not zero'), { flag: 'r+' });
    const dataContents = await probeDevice(run, data);
    expect(isBlank(dataContents)).toBe(false);
    expect(describeContents(dataContents)).toBe('data in its first 1 MiB (no known signature: plain dm-crypt or raw data?)');
    const luks = await images.blank('luks');
    await formatLuks2(run, luks, key('x'), { pbkdf: FAST_PBKDF, uuid: '6f1e7a52-1d2b-4c47-9a0c-3b0b6f5f2b11' });
    const luksContents = await probeDevice(run, luks);
    expect(luksContents.signatures).toEqual(['crypto_LUKS']);
    expect(describeContents(luksContents)).toBe('a crypto_LUKS signature');
  });
});
