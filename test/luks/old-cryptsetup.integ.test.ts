// cryptsetup 2.3.7 (Debian 11, RHEL 8; a fake on PATH that refuses what 2.4+ added, then runs the real one):
// enroll, rotate and start for both key sources; older than the token floor, one line and exit 85.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { createRunner, DEFAULT_EXEC_PATH } from '../../src/exec/run.ts';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { addKey, readLuksHeader } from '../../src/luks/keyslots.ts';
import { importToken, kmsTokensOf } from '../../src/luks/token.ts';
import { createKeySource } from '../../src/lifecycle/key-source.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { enrollVolume } from '../../src/lifecycle/enroll.ts';
import { rotateVolume } from '../../src/lifecycle/rotate.ts';
import type { Runner, VolumeConfig } from '../../src/types.ts';
import { credentialsEnv, lifecycleConfig } from '../lifecycle/config.ts';
import { crashAfter, lifecycleDeps, useLifecycleWorld } from '../lifecycle/harness.ts';
import { canRunCryptsetup, FAST_PBKDF, key } from '../lifecycle/images.ts';

const OLD_DIR = fileURLToPath(new URL('../fixtures/old-cryptsetup', import.meta.url));
const old237 = createRunner({ path: `${OLD_DIR}:${DEFAULT_EXEC_PATH}` });
const world = useLifecycleWorld({ beforeEach: (emulator) => emulator.createKey({ alias: 'alias/luks' }) });
let n = 0;

/** What start would do with this runner: the first key source entry that opens the device. */
async function startWouldOpen(config: VolumeConfig, device: string, run: Runner): Promise<string | undefined> {
  const source = createKeySource(config, { env: credentialsEnv(world.emulator), clock: realClock, log: createRecordingLogger(), run, devRoot: world.dev.root });
  for await (const k of source.keys(Date.now() + 20_000)) {
    const opens = await testPassphrase(run, device, k.secret);
    k.secret.wipe();
    if (opens) return `${k.source}@${k.version}`;
  }
  return undefined;
}

async function volume(run: Runner, kind: 'blank' | 'luks', over: Partial<VolumeConfig> = {}): Promise<{ config: VolumeConfig; device: string; run: Runner }> {
  n += 1;
  const device = kind === 'blank' ? await world.images.blank(`old-${n}`) : await world.images.luks(`old-${n}`, 'admin-passphrase');
  await world.dev.link(`old-${n}`, device);
  return { config: lifecycleConfig(world.emulator.url, { device: `/dev/old-${n}`, ...over }), device, run };
}

describe.skipIf(!canRunCryptsetup)('cryptsetup 2.3.7 (fake old cryptsetup on PATH)', () => {
  it('the fake refuses what 2.3.7 lacks, as 2.3.7 does', async () => {
    const image = await world.images.luks('fake-self-check', 'k');
    const dump = await old237('cryptsetup', ['luksDump', '--dump-json-metadata', image]);
    expect([dump.exitCode, dump.stderr.trim().split('\n').at(-1)]).toEqual([1, '--dump-json-metadata: unknown option']);
    expect((await old237('cryptsetup', ['--version'])).stdout).toBe('cryptsetup 2.3.7\n');
  });

  it('addKey: the new key as a trailing - on stdin, both keys exact bytes', async () => {
    const image = await world.images.luks('old-add', 'old key');
    await addKey(old237, image, key('old key'), key('new\nkey\0bytes'), FAST_PBKDF);
    expect(await testPassphrase(old237, image, key('new\nkey\0bytes'))).toBe(true);
    expect(await testPassphrase(old237, image, key('new\nkey'))).toBe(false);
    expect((await readLuksHeader(old237, image)).keyslots).toEqual([0, 1]);
  });

  it('SSM: enroll --add-to-existing, then rotate, then start opens with the newest version', async () => {
    const { config, device, run } = await volume(old237, 'luks');
    world.emulator.createKey({ alias: 'alias/aws/ssm' });
    await enrollVolume(lifecycleDeps(world.emulator, world.dev, { run }), config, { addToExisting: true, existingKey: async () => key('admin-passphrase') });
    await rotateVolume(lifecycleDeps(world.emulator, world.dev, { run }), config);
    expect((await readLuksHeader(run, device)).keyslots).toEqual([0, 2]);
    expect(await testPassphrase(run, device, key('admin-passphrase'))).toBe(true);
  });

  it.each(['store', 'bind', ''])('KMS: enroll --format, rotate (interrupted after step "%s", then resumed): one token, bound to the one slot', async (crash) => {
    const { config, device, run } = await volume(old237, 'blank', { keySource: 'kms', kmsKeyId: 'alias/luks' });
    await enrollVolume(lifecycleDeps(world.emulator, world.dev, { run }), config, { format: true });
    if (crash !== '') await expect(rotateVolume(lifecycleDeps(world.emulator, world.dev, { run, afterStep: crashAfter(crash) }), config)).rejects.toThrow();
    await rotateVolume(lifecycleDeps(world.emulator, world.dev, { run }), config);
    const header = await readLuksHeader(run, device);
    const tokens = kmsTokensOf(header);
    expect(tokens.map((t) => [t.generation, t.keyslots])).toEqual([[2, header.keyslots]]);
    expect(header.keyslots).toHaveLength(1);
  });

  it('KMS: start reads the token; an assignment interrupted between import and removal is cleaned up by the next rotate', async () => {
    const { config, device, run } = await volume(old237, 'blank', { keySource: 'kms', kmsKeyId: 'alias/luks' });
    await enrollVolume(lifecycleDeps(world.emulator, world.dev, { run }), config, { format: true });
    expect(await startWouldOpen(config, device, run)).toBe('kms-token:0@1');
    const [token] = (await readLuksHeader(run, device)).tokens;
    await importToken(run, device, JSON.stringify({ ...token!.json, keyslots: [] }), { tokenId: 7 });
    const report = await rotateVolume(lifecycleDeps(world.emulator, world.dev, { run }), config);
    expect(report.lines).toContain('removed token 7, which opens nothing');
    expect((await readLuksHeader(run, device)).tokens.map((t) => [t.id, t.keyslots])).toEqual([[0, [0]]]);
  });

  describe('older than 2.1: LUKS2 tokens are refused with the version needed', () => {
    let dir: string;
    let old206: Runner;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'luks-ssm-cryptsetup-2.0-'));
      await writeFile(join(dir, 'cryptsetup'), `#!/bin/sh\nFAKE_CRYPTSETUP_VERSION=2.0.6 exec ${OLD_DIR}/cryptsetup "$@"\n`);
      await chmod(join(dir, 'cryptsetup'), 0o755);
      old206 = createRunner({ path: `${dir}:${DEFAULT_EXEC_PATH}` });
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('KEY_SOURCE=kms enroll: UNSUPPORTED (85), one line naming 2.1 and the version found', async () => {
      const { config } = await volume(old206, 'blank', { keySource: 'kms', kmsKeyId: 'alias/luks' });
      const error = await enrollVolume(lifecycleDeps(world.emulator, world.dev, { run: old206 }), config, { format: true }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(UnlockError);
      expect(error).toMatchObject({ kind: 'UNSUPPORTED', exitCode: 85 });
      expect((error as Error).message).toBe('Writing LUKS2 tokens (KEY_SOURCE=kms) needs cryptsetup 2.1 or later; this system has 2.0.6');
    });
  });
});
