// Makes the arm64 V8 code cache: the build's own warm-up fetch (scripts/build), run by the arm64 Node
// under qemu-aarch64, so Graviton instances start as fast as x86_64 ones.
// Usage: node code-cache-arm64.mjs <qemu-aarch64> <sysroot> <arm64-node> <loader> <cache-out>
import { fileURLToPath } from 'node:url';
import { FETCHED } from '../../scripts/build/code-cache.mjs';
import { startFetchFixture } from '../../scripts/build/fetch-fixture.ts';
import { expectSuccess, runTimed } from '../../scripts/build/measure.mjs';

const PRODUCER = fileURLToPath(new URL('../../scripts/build/code-cache.cjs', import.meta.url));

const [qemu, sysroot, node, loader, cache] = process.argv.slice(2);
if (cache === undefined) {
  console.error('usage: node code-cache-arm64.mjs <qemu-aarch64> <sysroot> <arm64-node> <loader> <cache-out>');
  process.exit(2);
}
const fixture = await startFetchFixture();
try {
  const run = await runTimed(qemu, ['-L', sysroot, node, PRODUCER, loader, cache, ...fixture.args], fixture.env);
  expectSuccess('arm64 code-cache warm-up fetch', run, FETCHED);
} finally {
  await fixture.stop();
}
