// What a child running as another user (nobody) needs, placed where that user can reach it: a checkout under
// /root or in a `mktemp -d` folder (mode 0700) is not, nor is the Node runtime inside its node_modules.
import { chmod, copyFile, link, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** nobody(65534) on Debian and RHEL alike. */
export const NOBODY = 65_534;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A 0755 temp dir, as /usr/lib/luks-ssm is. */
export async function openDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** This Node runtime, in `dir`: a hard link when it can be (instant, no 120 MB copy), else a copy. */
export async function stageNode(dir: string): Promise<string> {
  const node = join(dir, 'node');
  await link(process.execPath, node).catch(() => copyFile(process.execPath, node));
  await chmod(node, 0o755);
  return node;
}

/** `entry` (a src/ file) and everything it imports as one CommonJS file in `dir`: no read of the checkout at run time. */
export async function stageBundle(dir: string, entry: string): Promise<string> {
  const outfile = join(dir, `${entry.replace(/[^A-Za-z0-9]+/g, '-')}.cjs`);
  await build({ absWorkingDir: ROOT, entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node24', logLevel: 'silent' });
  await chmod(outfile, 0o644);
  return outfile;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
