// Build step: one `start` (the boot path) against the emulator through the loader, leaving the V8 code cache behind.
import { fileURLToPath } from 'node:url';
import { CAN_FETCH, FETCHED, startFetchFixture } from './fetch-fixture.ts';
import { expectSuccess, runTimed } from './measure.mjs';
import { OPENED, startStartFixture } from './start-fixture.ts';
import { NODE_FLAGS } from './node-flags.ts';

export { FETCHED };
const WARM_RUN = fileURLToPath(new URL('./code-cache.cjs', import.meta.url));

async function warmUp(node, loader, cache) {
  const [file, ...prefix] = node;
  /** luks-ssm with `args`, through code-cache.cjs, which writes the cache when it exits. */
  const warmRun = (args, env) => runTimed(file, [...prefix, ...NODE_FLAGS, WARM_RUN, loader, cache, ...args], env);
  if (!CAN_FETCH) {
    console.warn('note: not root, so the code cache is warmed with --version only (a start needs a root-owned config)');
    return expectSuccess('code-cache warm-up --version', await warmRun(['--version'], {}), /^luks-ssm /);
  }
  // mknod can be refused to root too (a user namespace: rootless podman, docker with userns-remap).
  const fixture = await startStartFixture().catch((error) => {
    console.warn(`note: the start warm-up could not be set up (${String(error.message).split('\n')[0]}), so the code cache is warmed with a fetch`);
    return undefined;
  });
  if (fixture === undefined) return warmUpWithFetch(warmRun);
  try {
    // The stand-in mount fails, so start exits non-zero: the run counts when the key path ran to the open.
    const run = await warmRun(fixture.args, fixture.env);
    if (!OPENED.test(run.stdout)) throw new Error(`code-cache warm-up start did not reach the open (exit ${run.code}):\n${run.stdout}${run.stderr}`);
    return run;
  } finally {
    await fixture.stop();
  }
}

/** The lighter warm-up: the fetch path only (start's own steps then compile at boot). */
async function warmUpWithFetch(warmRun) {
  const fixture = await startFetchFixture();
  try {
    return expectSuccess('code-cache warm-up fetch', await warmRun(fixture.args, fixture.env), FETCHED);
  } finally {
    await fixture.stop();
  }
}

/**
 * Writes `cache` for `loader`, then checks that the loader accepts it (a refused cache only costs time,
 * silently). `node` is the command that runs Node: the cache is only good for that exact Node build, so
 * packaging passes e.g. [qemu-aarch64, -L, sysroot, arm64-node] for the arm64 runtime.
 */
export async function writeCodeCache({ loader, cache, node = [process.execPath] }) {
  await warmUp(node, loader, cache);
  const [file, ...prefix] = node;
  const check = await runTimed(file, [...prefix, loader, '--version'], { LUKS_SSM_DEBUG_CACHE: '1' });
  if (!check.stderr.includes('cache: accepted')) throw new Error(`the loader does not accept the code cache just made: ${check.stderr}`);
}
