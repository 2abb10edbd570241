// npm run build: the bundle, the loader that ships as bin luks-ssm, and the V8 code cache, in build/.
import { chmod, copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { bundle, ENTRY, CREDENTIAL_CHAIN } from './build/bundle.mjs';
import { writeCodeCache } from './build/code-cache.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = ROOT + 'build/';
export const FILES = { loader: OUT + 'luks-ssm.cjs', bundle: OUT + 'luks-ssm.bundle.cjs', cache: OUT + 'luks-ssm.cache' };

async function kilobytes(file) {
  return `${((await stat(file)).size / 1024).toFixed(0)} kB`;
}

await mkdir(OUT, { recursive: true });
await Promise.all(Object.values(FILES).map((file) => rm(file, { force: true })));
await bundle({ outfile: FILES.bundle });
await copyFile(fileURLToPath(new URL('./build/loader.cjs', import.meta.url)), FILES.loader);
await chmod(FILES.loader, 0o755);
await writeCodeCache(FILES);
console.log(`built from ${ENTRY} (credential chain: ${CREDENTIAL_CHAIN})`);
for (const file of Object.values(FILES)) console.log(`  ${file.slice(ROOT.length)}  ${await kilobytes(file)}`);
