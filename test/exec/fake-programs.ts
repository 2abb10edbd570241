// Puts recording fakes of cryptsetup/mount/umount first on a PATH, so tests see exactly what a child got.
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FAKE = fileURLToPath(new URL('../fixtures/bin/fake-program', import.meta.url));

export interface FakeCall {
  argv: string[];
  stdin: Buffer;
  /** The child's environment as `env` printed it. */
  env: string;
}

export interface FakeScript {
  exit?: number;
  stdout?: string;
  stderr?: string;
  sleepSec?: number;
  ignoreTerm?: boolean;
  /** Applies only when argv[0] is this (a cryptsetup verb), else to every call. */
  verb?: string;
}

export interface FakePrograms {
  dir: string;
  /** For createRunner({ path }): the fakes first, then the system dirs the fake script itself needs. */
  path: string;
  script(name: string, script: FakeScript): Promise<void>;
  calls(name: string): Promise<FakeCall[]>;
  cleanup(): Promise<void>;
}

export async function createFakePrograms(names: readonly string[]): Promise<FakePrograms> {
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-fake-'));
  await Promise.all(['bin', 'record', 'script'].map((d) => mkdir(join(dir, d))));
  await Promise.all(names.map((name) => symlink(FAKE, join(dir, 'bin', name))));
  return {
    dir,
    path: `${join(dir, 'bin')}:/usr/bin:/bin`,
    script: (name, script) => writeScript(join(dir, 'script'), name, script),
    calls: (name) => readCalls(join(dir, 'record'), name),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function writeScript(dir: string, name: string, script: FakeScript): Promise<void> {
  const base = join(dir, script.verb === undefined ? name : `${name}.${script.verb}`);
  const files: Array<[string, string | undefined]> = [
    ['exit', script.exit?.toString()],
    ['stdout', script.stdout],
    ['stderr', script.stderr],
    ['sleep', script.sleepSec?.toString()],
    ['ignore-term', script.ignoreTerm ? 'yes' : undefined],
  ];
  for (const [suffix, content] of files) {
    if (content !== undefined) await writeFile(`${base}.${suffix}`, content);
  }
}

async function readCalls(dir: string, name: string): Promise<FakeCall[]> {
  const count = (await readdir(dir)).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.argv')).length;
  const calls: FakeCall[] = [];
  for (let n = 1; n <= count; n++) {
    const argv = (await readFile(join(dir, `${name}.${n}.argv`), 'utf8')).split('\0').slice(0, -1);
    const stdin = await readFile(join(dir, `${name}.${n}.stdin`));
    const env = await readFile(join(dir, `${name}.${n}.env`), 'utf8');
    calls.push({ argv, stdin, env });
  }
  return calls;
}
