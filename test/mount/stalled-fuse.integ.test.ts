// The walk against a real FUSE mount whose server never answers (a raw /dev/fuse fd, nobody reading it): refused from
// the O_PATH handle's mount id in the kernel's own mountinfo, without a request to the filesystem that would hang.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const WALK = new URL('../../src/mount/dir-fd.ts', import.meta.url).pathname;
const canMountFuse = process.getuid?.() === 0 && existsSync('/dev/fuse');
let cleanup: Array<() => void> = [];
afterEach(() => {
  for (const step of cleanup.reverse()) step();
  cleanup = [];
});

/** Mounts a FUSE filesystem "served" by uid 1000 at `at`: its server side is our descriptor, which never answers. */
function stalledFuse(at: string): void {
  const server = openSync('/dev/fuse', 'r+');
  const mounted = spawnSync('mount', ['-t', 'fuse.stall', '-o', `fd=3,rootmode=40000,user_id=1000,group_id=1000,allow_other`, 'stall', at], {
    stdio: ['ignore', 'ignore', 'pipe', server], timeout: 10_000,
  });
  if (mounted.status !== 0) {
    closeSync(server);
    throw new Error(`mount of the test FUSE failed: ${mounted.stderr}`);
  }
  // Closing the server side aborts the connection (anything stuck in it fails), then it unmounts plainly.
  cleanup.push(() => {
    closeSync(server);
    spawnSync('umount', [at], { timeout: 10_000 });
  });
}

/** walkDirectory(path) in a child, which a stalled lookup would leave stuck: bounded at 8 s. */
function walkInChild(path: string): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  const script = `import { walkDirectory } from ${JSON.stringify(WALK)};
try { walkDirectory(${JSON.stringify(path)}).close(); console.log('walked'); }
catch (error) { console.log(error.constructor.name, error.exitCode ?? '', error.message); }`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, out: out.trim(), timedOut: signal === 'SIGKILL' });
    });
  });
}

describe.skipIf(!canMountFuse)('walkDirectory and a FUSE mount whose server never answers', () => {
  it('refuses it at once (82) on the way to a path below it, and at the mount itself', async () => {
    const root = mkdtempSync(join(tmpdir(), 'luks-ssm-fuse-'));
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const app = join(root, 'app');
    mkdirSync(app);
    stalledFuse(app);
    for (const path of [join(app, 'data', 'db'), app]) {
      const result = await walkInChild(path);
      expect(result.timedOut, `the walk to ${path} hung: ${result.out}`).toBe(false);
      expect(result.out).toBe(`UnlockError 82 ${app} (on the way to ${path}) is a FUSE filesystem served by uid 1000, refusing to look into it: its server could stall luks-ssm`);
    }
  });
});
