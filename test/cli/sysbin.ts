// Installs the fake cryptsetup/mount/umount/systemd-ask-password (test/fixtures/sysbin) into a per-test bin dir and reads their records.
import { execFileSync } from 'node:child_process';
import { appendFile, chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REAL_CRYPTSETUP } from './luks-image.ts';

const SYSBIN = fileURLToPath(new URL('../fixtures/sysbin/', import.meta.url));
const PROGRAMS = ['cryptsetup', 'mount', 'umount', 'systemd-ask-password'];
/** What the kernel would list before the volume is mounted. */
const ROOT_MOUNT = '22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n';

export interface FakeCall {
  program: string;
  args: string[];
  /** How many bytes the program read on stdin (the fakes count them, never keep them). */
  stdinBytes: number;
}

export interface FakeSystem {
  /** Put first on the CLI's PATH. */
  bin: string;
  /** Everything the fakes write: calls.log, env.log, mountinfo, mappings/, devices. */
  state: string;
  /** LUKS_SSM_MOUNTINFO */
  mountinfo: string;
  /** Makes `node` a block-device node (never opened) whose contents are the image file `image`. */
  addDevice(node: string, image: string): Promise<void>;
  setBusy(busy: boolean): Promise<void>;
  calls(): Promise<FakeCall[]>;
  /** The names of the environment variables each call saw, in call order. */
  envNames(): Promise<string[][]>;
  /** Names of open mappings. */
  mappings(): Promise<string[]>;
}

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

export async function installFakeSystem(dir: string): Promise<FakeSystem> {
  const bin = join(dir, 'bin');
  const state = join(dir, 'state');
  await mkdir(bin, { recursive: true });
  await mkdir(join(state, 'mappings'), { recursive: true });
  for (const program of PROGRAMS) {
    await copyFile(join(SYSBIN, program), join(bin, program));
    await chmod(join(bin, program), 0o755);
  }
  const common = (await readFile(join(SYSBIN, 'fake-common.sh'), 'utf8'))
    .replace('@STATE_DIR@', shellQuote(state))
    .replace('@REAL_CRYPTSETUP@', shellQuote(REAL_CRYPTSETUP ?? '/usr/sbin/cryptsetup'));
  await writeFile(join(bin, 'fake-common.sh'), common, { mode: 0o644 });
  const mountinfo = join(state, 'mountinfo');
  await writeFile(mountinfo, ROOT_MOUNT);
  await writeFile(join(state, 'devices'), '');
  await writeFile(join(state, 'calls.log'), '');
  await writeFile(join(state, 'env.log'), '');
  return {
    bin,
    state,
    mountinfo,
    async addDevice(node, image) {
      // A loop-major node nobody opens: the product stats it, the fake cryptsetup swaps in the image.
      execFileSync('mknod', [node, 'b', '7', '250']);
      await appendFile(join(state, 'devices'), `${node} ${image}\n`);
    },
    async setBusy(busy) {
      if (busy) await writeFile(join(state, 'busy'), '');
      else await rm(join(state, 'busy'), { force: true });
    },
    async calls() {
      const text = await readFile(join(state, 'calls.log'), 'utf8');
      return text.split('\n').filter((line) => line !== '').map((line) => {
        const [program, ...rest] = line.split('\t');
        const stdin = rest.pop() ?? '';
        return { program: program ?? '', args: rest, stdinBytes: Number(stdin.replace('stdin=', '')) };
      });
    },
    async envNames() {
      const text = await readFile(join(state, 'env.log'), 'utf8');
      return text.split(/^== .*\n/m).slice(1).map((block) => block.split('\n').filter((l) => l.includes('=')).map((l) => l.slice(0, l.indexOf('='))).sort());
    },
    mappings: () => readdir(join(state, 'mappings')),
  };
}
