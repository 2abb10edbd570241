// Build plugin: pino without the parts src/log.ts never uses (transports, SonicBoom), which load worker_threads,
// assert and streams at start. Measured on fetch: see the commit that added it.
import { fileURLToPath } from 'node:url';

const stub = (name) => fileURLToPath(new URL(`./stubs/${name}.cjs`, import.meta.url));

/** Only imports made from inside pino's own packages are redirected; nothing else in the bundle is touched. */
const FROM_PINO = /[\\/]node_modules[\\/](pino|thread-stream)[\\/]/;
const STUBS = { 'thread-stream': stub('thread-stream'), 'sonic-boom': stub('sonic-boom'), worker_threads: stub('worker-threads') };

export const leanPino = {
  name: 'lean-pino',
  setup(build) {
    build.onResolve({ filter: /^(thread-stream|sonic-boom|worker_threads)$/ }, ({ path, importer }) =>
      FROM_PINO.test(importer) ? { path: STUBS[path] } : undefined);
  },
};
