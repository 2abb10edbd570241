// npm run build: the bundle, the loader that ships as bin luks-ssm, and the V8 code cache, in build/.
// Usage: node scripts/build.mjs [--outdir DIR]   (tests build into a temp dir)
import { chmod, copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundle, ENTRY } from './build/bundle.mjs';
import { writeCodeCache } from './build/code-cache.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'build') } } });
const out = resolve(values.outdir);
const files = {
  loader: join(out, 'luks-ssm.cjs'),
  bundle: join(out, 'luks-ssm.bundle.cjs'),
  cache: join(out, 'luks-ssm.cache'),
};

await mkdir(out, { recursive: true });
await Promise.all(Object.values(files).map((file) => rm(file, { force: true })));
await bundle({ outfile: files.bundle });
await copyFile(fileURLToPath(new URL('./build/loader.cjs', import.meta.url)), files.loader);
await chmod(files.loader, 0o755);
await writeCodeCache(files);
console.log(`built ${relative(process.cwd(), out) || '.'} from ${ENTRY}`);
for (const file of Object.values(files)) console.log(`  ${relative(out, file).padEnd(20)} ${((await stat(file)).size / 1024).toFixed(0)} kB`);
