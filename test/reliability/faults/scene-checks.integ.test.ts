// The fault matrix's "nothing touched" and "no secret" checks can fail: each harm they look for, done on purpose.
import { appendFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canRunCryptsetup } from '../../cli/luks-image.ts';
import type { CliResult } from '../../support/cli.ts';
import { sceneFor } from './world.ts';

const output = (stdout: string): CliResult => ({
  code: 0, signal: null, stdout, stderr: '', stdoutBytes: Buffer.from(stdout), stderrBytes: Buffer.alloc(0), elapsedMs: 0, timedOut: false,
});

describe.skipIf(!canRunCryptsetup)('fault matrix checks', { concurrent: true }, () => {
  it('untouched holds on a fresh scene, and fails for each harm', async (ctx) => {
    const scene = await sceneFor(ctx, 'checks');
    const vol = await scene.addVolume('data');
    expect((await scene.untouched(vol)).problems).toEqual([]);

    const image = await open(vol.image, 'r+');
    await image.write(Buffer.from([1]), 0, 1, 4096);
    await image.close();
    await mkdir(vol.mountPoint, { recursive: true });
    await writeFile(join(vol.mountPoint, 'stray'), 'x');
    await scene.sys.addMapping('data', vol.device);
    await scene.sys.removeMapping('other');
    expect((await scene.untouched(vol)).problems).toEqual([
      `${vol.device}'s bytes changed`,
      'the other volume was closed',
      'data is open',
      `${vol.mountPoint} holds [stray], not []`,
    ]);
  });

  it('mountedOnly fails when the volume is not mounted, or mounted twice', async (ctx) => {
    const scene = await sceneFor(ctx, 'checks-mounted');
    const vol = await scene.addVolume('data');
    expect((await scene.mountedOnly(vol)).problems).toEqual(['data is not open', `${vol.mountPoint}: 0 mounts, want /dev/mapper/data once`]);
    await scene.sys.addMapping('data', vol.device);
    const line = `101 22 253:0 / ${vol.mountPoint} rw shared:101 - ext4 /dev/mapper/data rw\n`;
    await appendFile(scene.sys.mountinfo, line + line);
    expect((await scene.mountedOnly(vol)).problems).toEqual([`${vol.mountPoint}: 2 mounts, want /dev/mapper/data once`]);
  });

  it('noSecret finds the passphrase in output (raw, base64) and in the run dir', async (ctx) => {
    const scene = await sceneFor(ctx, 'checks-secret');
    expect((await scene.noSecret(output('nothing to see'))).problems).toEqual([]);
    expect((await scene.noSecret(output(`{"msg":"key ${scene.key.toString('base64')}"}`))).problems).toEqual(['base64 (from byte 0) in stdout 0']);
    await mkdir(scene.ws.runDir, { recursive: true });
    await writeFile(join(scene.ws.runDir, 'data.json'), scene.key);
    expect((await scene.noSecret(output(''))).problems).toEqual([`raw bytes in ${join(scene.ws.runDir, 'data.json')}`]);
  });
});
