// One host for one fault-matrix test: the AWS emulator, the fake cryptsetup/mount on PATH over real LUKS2
// headers, and a second volume already open and mounted, so "nothing touched" can check it stayed so.
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator/index.ts';
import { CLI_TIMEOUT_MS, logLines, plainLines, runCli, type CliOptions, type CliResult } from '../../support/cli.ts';
import { formatLuksImage, zeroImage } from '../../cli/luks-image.ts';
import { filesUnder, findLeaks } from '../../cli/secret-scanner.ts';
import { installFakeSystem, type FakeSystem } from '../../cli/sysbin.ts';
import { createWorkspace, volumeEnv, writeVolumeConfig, type EnvOptions, type Workspace } from '../../cli/workspace.ts';
import type { Check, Observed } from '../fault-row.ts';

export interface Volume {
  name: string;
  /** /dev/NAME under the workspace's dev root: the fake's block node for the image. */
  device: string;
  image: string;
  mountPoint: string;
  config: string;
  /** sha256 of the image when formatted. */
  imageHash: string;
}

export interface StartScene {
  emulator: Emulator;
  ws: Workspace;
  sys: FakeSystem;
  /** The passphrase every volume of the scene is formatted with and /luks/NAME holds. */
  key: Buffer;
  env(opts?: EnvOptions): Record<string, string>;
  /**
   * Formats /dev/NAME, writes NAME.conf (TIMEOUT_SEC 30: room for retries on a loaded host; `over` on top), stores /luks/NAME; `device: false` leaves
   * the node out, `luks: false` makes the image zeros.
   */
  addVolume(name: string, over?: Record<string, string>, opts?: { device?: boolean; luks?: boolean }): Promise<Volume>;
  /** Makes the block node of a volume added with `device: false` (a disk attached late). */
  attach(volume: Volume): Promise<void>;
  run(args: string[], opts?: { env?: EnvOptions } & Pick<CliOptions, 'onSpawn' | 'timeoutMs' | 'nodeArgs'>): Promise<CliResult>;
  /** Problems if `volume` is open or mounted, its image changed, its mount point's contents changed, or the other volume moved. */
  untouched(volume: Volume, contents?: Record<string, string>): Promise<Check>;
  /** Problems if `volume` is not open and mounted at its mount point, its image changed, or the other volume moved. */
  mountedOnly(volume: Volume): Promise<Check>;
  /** Problems if `volume` is not open, is mounted, its mount point is not empty, its image changed, or the other volume moved. */
  openOnly(volume: Volume): Promise<Check>;
  /** The passphrase in the CLI's stdout/stderr, the children's argv and env, or the run dir. */
  noSecret(...results: CliResult[]): Promise<Check>;
  observe(result: CliResult, untouched: Check, noSecret: Check): Observed;
  tearDown(): Promise<void>;
}

const sha256 = async (file: string): Promise<string> => createHash('sha256').update(await readFile(file)).digest('hex');
const OTHER = 'other';
/**
 * The fault matrix runs beside a guest in CI (2 cores, TCG): under six busy loops here its slow-IMDS test took 10-13 s,
 * so each run gets twice the usual bound. Every test's own timeout is 60 s.
 */
const SCENE_CLI_TIMEOUT_MS = 2 * CLI_TIMEOUT_MS;

/**
 * The first line a user reads about the fault: the error line on stderr, else the first warning logged (a retry
 * names what it met), else the first log message or plain line on stdout.
 */
export function firstLineOf(result: CliResult): string {
  const err = result.stderr.split('\n').find((line) => line !== '');
  if (err !== undefined) return err;
  const logged = logLines(result.stdout);
  const shown = logged.find((line) => Number(line.level) >= 40) ?? logged[0];
  if (shown !== undefined) return String(shown.msg);
  return plainLines(result.stdout)[0] ?? '';
}

export async function startScene(prefix: string): Promise<StartScene> {
  const emulator = await startEmulator();
  const ws = await createWorkspace(`fm-${prefix}`);
  const sys = await installFakeSystem(ws.dir, ws.sysRoot);
  const key = Buffer.from(`fault-matrix ${randomBytes(18).toString('base64url')}\n`);
  // The other volume: open and mounted before the test, by a run the test does not make.
  const otherMount = join(ws.dir, 'srv', OTHER);
  await mkdir(otherMount, { recursive: true });
  await sys.addMapping(OTHER, join(ws.devRoot, OTHER));
  const otherLine = `90 22 253:9 / ${otherMount} rw shared:90 - ext4 /dev/mapper/${OTHER} rw`;
  await appendFile(sys.mountinfo, `${otherLine}\n`);

  const env = (opts: EnvOptions = {}): Record<string, string> =>
    volumeEnv(ws, emulator, { binDir: sys.bin, ...opts, extra: { LUKS_SSM_MOUNTINFO: sys.mountinfo, ...opts.extra } });

  async function otherMoved(): Promise<string[]> {
    const problems: string[] = [];
    if (!(await sys.mappings()).includes(OTHER)) problems.push('the other volume was closed');
    if (!(await readFile(sys.mountinfo, 'utf8')).split('\n').includes(otherLine)) problems.push('the other volume was unmounted');
    const touching = (await sys.calls()).filter((c) => c.args.includes(OTHER) || c.args.includes(`/dev/mapper/${OTHER}`));
    if (touching.length > 0) problems.push(`a call touched the other volume: ${touching[0]!.program} ${touching[0]!.args.join(' ')}`);
    return problems;
  }

  async function mountLines(volume: Volume): Promise<string[]> {
    return (await readFile(sys.mountinfo, 'utf8')).split('\n').filter((line) => line.split(' ')[4] === volume.mountPoint);
  }

  async function imageChanged(volume: Volume): Promise<string[]> {
    return (await sha256(volume.image)) === volume.imageHash ? [] : [`${volume.device}'s bytes changed`];
  }

  return {
    emulator,
    ws,
    sys,
    key,
    env,
    async addVolume(name, over = {}, opts = {}) {
      const file = join(ws.dir, `${name}.img`);
      const image = opts.luks === false ? await zeroImage(file) : await formatLuksImage(file, key);
      const volume: Volume = {
        name, image, device: join(ws.devRoot, name), mountPoint: join(ws.dir, 'srv', name), imageHash: await sha256(image),
        config: await writeVolumeConfig(ws, name, {
          LUKS_DEVICE: `/dev/${name}`, LUKS_DEVICE_MAP: name, LUKS_DEVICE_MOUNT_POINT: join(ws.dir, 'srv', name),
          SSM_PATH: `/luks/${name}`, TIMEOUT_SEC: '30', ...over,
        }),
      };
      emulator.putParameter(`/luks/${name}`, key.toString('utf8'));
      if (opts.device !== false) await sys.addDevice(volume.device, image);
      return volume;
    },
    attach: (volume) => sys.addDevice(volume.device, volume.image),
    run: (args, { env: envOpts, ...cli } = {}) => runCli(args, { ...cli, env: env(envOpts), timeoutMs: cli.timeoutMs ?? SCENE_CLI_TIMEOUT_MS }),
    async untouched(volume, contents) {
      const problems = [...(await imageChanged(volume)), ...(await otherMoved())];
      if ((await sys.mappings()).includes(volume.name)) problems.push(`${volume.name} is open`);
      if ((await mountLines(volume)).length > 0) problems.push(`${volume.mountPoint} is mounted`);
      const found = await readdir(volume.mountPoint).catch(() => []);
      const want = Object.keys(contents ?? {}).sort();
      if (found.sort().join('/') !== want.join('/')) problems.push(`${volume.mountPoint} holds [${found.join(', ')}], not [${want.join(', ')}]`);
      for (const [file, text] of Object.entries(contents ?? {})) {
        if ((await readFile(join(volume.mountPoint, file), 'utf8').catch(() => undefined)) !== text) problems.push(`${file} in the mount point changed`);
      }
      const what = `device bytes, no mapping, no mount, mount point ${contents === undefined ? 'empty' : 'files intact'}, other volume`;
      return { what, problems };
    },
    async mountedOnly(volume) {
      const problems = [...(await imageChanged(volume)), ...(await otherMoved())];
      if (!(await sys.mappings()).includes(volume.name)) problems.push(`${volume.name} is not open`);
      const lines = await mountLines(volume);
      if (lines.length !== 1 || !lines[0]!.endsWith(` /dev/mapper/${volume.name} rw`)) problems.push(`${volume.mountPoint}: ${lines.length} mounts, want /dev/mapper/${volume.name} once`);
      return { what: 'mounted once; device bytes, other volume', problems };
    },
    async openOnly(volume) {
      const problems = [...(await imageChanged(volume)), ...(await otherMoved())];
      if (!(await sys.mappings()).includes(volume.name)) problems.push(`${volume.name} is not open`);
      if ((await mountLines(volume)).length > 0) problems.push(`${volume.mountPoint} is mounted`);
      const found = await readdir(volume.mountPoint).catch(() => []);
      if (found.length > 0) problems.push(`${volume.mountPoint} holds [${found.join(', ')}]`);
      return { what: 'left open, not mounted, mount point empty; device bytes, other volume', problems };
    },
    async noSecret(...results) {
      const haystacks = [
        ...results.flatMap((r, i) => [{ name: `stdout ${i}`, bytes: r.stdoutBytes }, { name: `stderr ${i}`, bytes: r.stderrBytes }]),
        // argv and environment of every cryptsetup/mount/umount call (their stdin is counted, never kept)
        { name: 'calls.log', bytes: await readFile(join(sys.state, 'calls.log')) },
        { name: 'env.log', bytes: await readFile(join(sys.state, 'env.log')) },
        ...(await filesUnder(ws.runDir).catch(() => [])),
      ];
      const leaks = findLeaks([key], haystacks);
      return { what: 'stdout, stderr, argv and env of children, run dir', problems: leaks.map((l) => `${l.form} in ${l.haystack}`) };
    },
    observe: (result, untouched, noSecret) => ({ exitCode: result.code ?? result.signal, firstLine: firstLineOf(result), untouched, noSecret }),
    async tearDown() {
      await sys.unmountReal();
      await emulator.stop();
      await ws.cleanup();
    },
  };
}
