// Build step: one real fetch against the emulator through the loader, leaving the V8 code cache behind.
import { fileURLToPath } from 'node:url';
import { FETCHED, startFetchFixture } from './fetch-fixture.ts';
import { expectSuccess, runTimed } from './measure.mjs';

export { FETCHED };
const WARM_RUN = fileURLToPath(new URL('./code-cache.cjs', import.meta.url));

/**
 * Writes `cache` for `loader`, then checks that the loader accepts it (a refused cache only costs time,
 * silently). `node` is the command that runs Node: the cache is only good for that exact Node build, so
 * packaging passes e.g. [qemu-aarch64, -L, sysroot, arm64-node] for the arm64 runtime.
 */
export async function writeCodeCache({ loader, cache, node = [process.execPath] }) {
  const [file, ...prefix] = node;
  const fixture = await startFetchFixture();
  try {
    const run = await runTimed(file, [...prefix, WARM_RUN, loader, cache, ...fixture.args], fixture.env);
    expectSuccess('code-cache warm-up fetch', run, FETCHED);
  } finally {
    await fixture.stop();
  }
  const check = await runTimed(file, [...prefix, loader, '--version'], { LUKS_SSM_DEBUG_CACHE: '1' });
  if (!check.stderr.includes('cache: accepted')) throw new Error(`the loader does not accept the code cache just made: ${check.stderr}`);
}
