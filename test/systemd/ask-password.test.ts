// systemd-ask-password as start runs it: the question's id and bound, the answer's exact bytes, and withdrawal.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runForSecret } from '../../src/exec/run.ts';
import { createAskPassword } from '../../src/systemd/ask-password.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-ask-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake systemd-ask-password on PATH: records its argv, then runs `body`. */
async function fakeAsk(body: string) {
  await writeFile(join(dir, 'systemd-ask-password'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/argv\n${body}\n`);
  await chmod(join(dir, 'systemd-ask-password'), 0o755);
  return createAskPassword((file, args, opts) => runForSecret(file, args, opts, `${dir}:/usr/bin:/bin`));
}

describe('createAskPassword', () => {
  it('asks with --id naming the volume and --timeout the bound, and returns the typed bytes without the newline', async () => {
    const ask = await fakeAsk(`printf 'cbdefghi-jklnrtuv \\n'`);
    const result = await ask({ id: 'luks-ssm:data', message: 'Recovery key for data:', timeoutSec: 42.9 });
    expect('key' in result && result.key.bytes().toString()).toBe('cbdefghi-jklnrtuv ');
    expect((await readFile(join(dir, 'argv'), 'utf8')).split('\n')).toEqual(expect.arrayContaining(['--id=luks-ssm:data', '--timeout=42', 'Recovery key for data:']));
  });

  it('reports no key when the question times out or is cancelled at the agent', async () => {
    const ask = await fakeAsk(`echo 'Timed out' >&2; exit 1`);
    expect(await ask({ id: 'luks-ssm:data', message: 'm', timeoutSec: 1 })).toEqual({ none: 'Timed out' });
  });

  it('withdraws the question when told: the process is stopped (SIGTERM) at once', async () => {
    const ask = await fakeAsk(`trap 'echo withdrawn > ${dir}/term; exit 1' TERM\nwhile :; do sleep 0.05; done`);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    expect(await ask({ id: 'luks-ssm:data', message: 'm', timeoutSec: 60, signal: controller.signal })).toEqual({ none: 'withdrawn' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(existsSync(join(dir, 'term'))).toBe(true);
  });
});

// The real systemd-ask-password and systemd-reply-password (what an agent runs), through the ask-password
// directory: the request carries our id, the reply's bytes come back exactly, and a withdrawn question's
// request file is removed. Needs root (the directory is root's) and systemd's tools; no running systemd.
const ASK_DIR = '/run/systemd/ask-password';
const REPLY = ['/lib/systemd/systemd-reply-password', '/usr/lib/systemd/systemd-reply-password'].find((f) => existsSync(f));
const haveReal = process.getuid?.() === 0 && REPLY !== undefined && ['/usr/bin/systemd-ask-password', '/bin/systemd-ask-password'].some((f) => existsSync(f));

async function requestFor(id: string, timeoutMs: number): Promise<string | undefined> {
  const { readdir } = await import('node:fs/promises');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    for (const name of (await readdir(ASK_DIR).catch(() => [] as string[])).filter((n) => n.startsWith('ask.'))) {
      const text = await readFile(join(ASK_DIR, name), 'utf8').catch(() => '');
      if (text.split('\n').includes(`Id=${id}`)) return join(ASK_DIR, name);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

describe.skipIf(!haveReal)('createAskPassword with the real systemd tools', () => {
  it('is answered through the agent protocol with the exact bytes typed, and the request names the volume', async () => {
    const { execFile } = await import('node:child_process');
    const ask = createAskPassword();
    const id = `luks-ssm:test-${process.pid}`;
    const pending = ask({ id, message: 'Recovery key for test:', timeoutSec: 30 });
    const request = await requestFor(id, 10_000);
    expect(request).toBeDefined();
    const text = await readFile(request!, 'utf8');
    expect(text).toContain('Message=Recovery key for test:');
    const socket = /^Socket=(.+)$/m.exec(text)![1]!;
    await new Promise<void>((resolve, reject) => {
      const child = execFile(REPLY!, ['1', socket], (error) => (error ? reject(error) : resolve()));
      child.stdin!.end('cbdefghi-jklnrtuv with spaces');
    });
    const result = await pending;
    expect('key' in result && result.key.bytes().toString()).toBe('cbdefghi-jklnrtuv with spaces');
    expect(existsSync(request!)).toBe(false);
  });

  it('a withdrawn question disappears from the agents (its request file is removed)', async () => {
    const ask = createAskPassword();
    const id = `luks-ssm:withdrawn-${process.pid}`;
    const controller = new AbortController();
    const pending = ask({ id, message: 'm', timeoutSec: 30, signal: controller.signal });
    const request = await requestFor(id, 10_000);
    expect(request).toBeDefined();
    controller.abort();
    expect(await pending).toEqual({ none: 'withdrawn' });
    expect(existsSync(request!)).toBe(false);
  });
});
