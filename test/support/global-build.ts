// vitest globalSetup: builds the shipped bundle once per run, so CLI integration tests run exactly what ships.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { stageNode } from './other-user.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD_TIMEOUT_MS = 120_000;

/** How tests start the CLI: `node <args…>`; `fallback` names why the built bundle is not used. */
export interface BuiltCli {
  args: string[];
  /** This Node runtime in the build dir (0755), for runs as another user: the checkout may be unreachable to them. */
  nodeForOthers?: string;
  fallback?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    luksSsmCli: BuiltCli;
  }
}

function build(outdir: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: outdir };
    execFile(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--outdir', outdir], { cwd: ROOT, env, timeout: BUILD_TIMEOUT_MS }, (error, _stdout, stderr) => {
      resolve(error ? `${error.message.split('\n')[0]}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}` : undefined);
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const outdir = await mkdtemp(join(tmpdir(), 'luks-ssm-cli-build-'));
  // Readable by all, as /usr/lib/luks-ssm is, so a test can run the CLI as an unprivileged user.
  await chmod(outdir, 0o755);
  const failure = await build(outdir);
  if (failure === undefined) {
    project.provide('luksSsmCli', { args: [join(outdir, 'luks-ssm.cjs')], nodeForOthers: await stageNode(outdir) });
  } else {
    const banner = `!!! BUILD FAILED: CLI integration tests run \`node src/main.ts\`, NOT the shipped bundle (${failure}) !!!`;
    process.stderr.write(`\n${'!'.repeat(banner.length)}\n${banner}\n${'!'.repeat(banner.length)}\n\n`);
    project.provide('luksSsmCli', { args: [join(ROOT, 'src/main.ts')], fallback: failure });
  }
  return async () => {
    await rm(outdir, { recursive: true, force: true });
  };
}
