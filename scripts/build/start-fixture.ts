// The code-cache warm-up's `start`: the boot path (volume locks, mapping and mount checks, the device, the key from
// the emulator with instance-metadata credentials, cryptsetup open, mount) run through once on the build host,
// with stand-ins for cryptsetup, mount and dumpe2fs that touch no device. Its functions then come from the cache
// at boot instead of being compiled there: measured on the host, start 180 -> 155 ms (median of 9). Its config names a
// REQUIRED_BY unit, so loading the D-Bus client and connecting are in the cache too (with no bus here, the calls
// themselves are not): a start with REQUIRED_BY 118.8 -> 113.4 ms on the host (median of 21, no bus; the cache
// 1.38 -> 1.59 MB), at a cost to every other run of deserializing the larger cache (--version 50.2 -> 52.1 ms).
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURE_VOLUME, startFetchFixture } from './fetch-fixture.ts';

/** What start prints once cryptsetup (the stand-in) opened the volume: the key path ran to its end. */
export const OPENED = /"msg":"opened \S+ as \/dev\/mapper\/luks-ssm-bench with ssm:/;

const STAND_INS: Record<string, string> = {
  cryptsetup: [
    'case "$1" in',
    '  status) exit 4 ;;',
    '  isLuks) exit 0 ;;',
    '  open) cat >/dev/null; exit 0 ;;',
    'esac',
    'exit 1',
  ].join('\n'),
  // The warm-up mounts nothing: start fails here, after the key path (its error path is compiled too).
  mount: 'echo "mount: code-cache warm-up, nothing mounted" >&2; exit 32',
  dumpe2fs: 'exit 1',
};

export interface StartFixture {
  args: string[];
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Root only (a device node, a root-owned config): the caller falls back to a lighter warm-up otherwise. */
export async function startStartFixture(): Promise<StartFixture> {
  const fetch = await startFetchFixture();
  try {
    const bin = join(fetch.dir, 'bin');
    const dev = join(fetch.dir, 'dev');
    await mkdir(bin);
    await mkdir(dev);
    for (const [name, body] of Object.entries(STAND_INS)) {
      await writeFile(join(bin, name), `#!/bin/sh\n# code-cache warm-up stand-in (scripts/build/start-fixture.ts)\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    }
    // A block device node nobody can open: major 240 is reserved for local use and has no driver, so the LUKS magic
    // read gets ENXIO (and the kernel creates nothing, as it would /dev/loopN for a loop major) and fails over to
    // the stand-in cryptsetup.
    execFileSync('mknod', [join(dev, 'warm0'), 'b', '240', '0']);
    const configFile = join(fetch.dir, 'start.conf');
    const config = await readFile(fetch.configFile, 'utf8');
    // REQUIRED_BY: start then asks systemd which dependents run (the D-Bus client's loading and connecting are cached
    // too; with no bus here, as in a build container, the question fails fast and start goes on).
    await writeFile(configFile, `${config.replace(/^LUKS_DEVICE=.*$/m, 'LUKS_DEVICE=/dev/warm0')}\nREQUIRED_BY=luks-ssm-warm-up.service\n`, { mode: 0o600 });
    return {
      args: ['start', FIXTURE_VOLUME, '--config', configFile],
      env: { ...fetch.imdsEnv, LUKS_SSM_TEST_EXEC_PATH: bin, LUKS_SSM_DEV_ROOT: dev },
      stop: fetch.stop,
    };
  } catch (error) {
    await fetch.stop();
    throw error;
  }
}
