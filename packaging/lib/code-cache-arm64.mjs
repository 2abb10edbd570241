// Makes the arm64 V8 code cache with the build's own warm-up (scripts/build/code-cache.mjs), run by the
// arm64 Node under qemu-aarch64, so Graviton instances start as fast as x86_64 ones.
// Usage: node code-cache-arm64.mjs <qemu-aarch64> <sysroot> <arm64-node> <loader> <cache-out>
import { writeCodeCache } from '../../scripts/build/code-cache.mjs';

const [qemu, sysroot, node, loader, cache] = process.argv.slice(2);
if (cache === undefined) {
  console.error('usage: node code-cache-arm64.mjs <qemu-aarch64> <sysroot> <arm64-node> <loader> <cache-out>');
  process.exit(2);
}
await writeCodeCache({ loader, cache, node: [qemu, '-L', sysroot, node] });
