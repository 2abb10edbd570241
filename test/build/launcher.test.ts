// /usr/sbin/luks-ssm (packaging/files/luks-ssm): node gets only allow-listed variables, no core dumps, the args
// intact; the unit's UnsetEnvironment= names exactly the variables this test proves the launcher drops.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXED_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Each loads code into the process, weakens TLS, or redirects what luks-ssm trusts (issue #10, item 3). */
const DANGEROUS = [
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'NODE_DEBUG', 'NODE_DEBUG_NATIVE', 'NODE_V8_COVERAGE',
  'NODE_REPL_EXTERNAL_MODULE', 'NODE_COMPILE_CACHE', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_ICU_DATA',
  'NODE_REDIRECT_WARNINGS', 'NODE_USE_ENV_PROXY', 'NODE_USE_SYSTEM_CA',
  'OPENSSL_CONF', 'OPENSSL_MODULES', 'OPENSSL_ENGINES', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
  'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'DBUS_SYSTEM_BUS_ADDRESS', 'LUKS_SSM_TEST_EXEC_PATH',
];

let dir: string;

/** The launcher with its libdir pointed at `lib` (the only line that differs from what ships). */
async function launcherIn(lib: string): Promise<string> {
  const text = await readFile(join(ROOT, 'packaging/files/luks-ssm'), 'utf8');
  expect(text).toMatch(/^libdir=\/usr\/lib\/luks-ssm$/m);
  const path = join(lib, 'launcher');
  await writeFile(path, text.replace(/^libdir=.*$/m, `libdir=${lib}`), { mode: 0o755 });
  return path;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

async function unsetEnvironment(): Promise<string[]> {
  const unit = await readFile(join(ROOT, 'systemd/luks-ssm@.service'), 'utf8');
  return unit.split('\n').filter((line) => line.startsWith('UnsetEnvironment=')).flatMap((line) => line.slice(17).split(/\s+/)).filter(Boolean);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-launcher-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the /usr/sbin/luks-ssm launcher', () => {
  it('passes node only allow-listed variables, a fixed PATH, no core dumps and the arguments as given', async () => {
    const lib = join(dir, 'fake');
    await mkdir(lib);
    // A stand-in for node: prints the core limits, then its arguments and environment NUL-separated.
    await writeFile(join(lib, 'node'), '#!/bin/sh\nulimit -Sc; ulimit -Hc\nprintf "%s\\0" "$@"; printf "\\n"; env -0\n', { mode: 0o755 });
    const launcher = await launcherIn(lib);
    const hostile = Object.fromEntries(DANGEROUS.map((name) => [name, name === 'LD_PRELOAD' ? '' : `/nonexistent/${name}`]));
    const kept = {
      AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SSM: 'https://ssm.example', NOTIFY_SOCKET: '/run/systemd/notify',
      INVOCATION_ID: 'abc', JOURNAL_STREAM: '8:123', SYSTEMD_SCOPE: 'system', TERM: 'dumb',
      LUKS_SSM_CONF_DIR: '/etc/x', LUKS_SSM_RUN_DIR: '/run/x', LUKS_SSM_DEBUG: '1',
      // A value with a line that looks like another variable must neither be split nor smuggle that one in.
      AWS_SESSION_TOKEN: 'p\nLD_LIBRARY_PATH=/evil two words',
    };
    const dropped = {
      HOME: '/root', LANG: 'C.UTF-8', TZ: 'UTC', LUKS_SSM_DEV_ROOT: '/tmp/dev', LUKS_SSM_SYS_ROOT: '/tmp/sys', 'A-B': 'x', BASH_ENV: '/evil',
      AWS_PROFILE: 'p', AWS_CA_BUNDLE: '/evil.pem', SYSTEMD_LOG_LEVEL: 'debug',
    };
    const outcome = await run(launcher, ['start', 'a b', '$HOME', '--x=1'], { ...hostile, ...kept, ...dropped, PATH: `/evil:${FIXED_PATH}` });
    expect(outcome.code).toBe(0);
    const [soft, hard, rest] = outcome.stdout.split('\n', 2).concat(outcome.stdout.split('\n').slice(2).join('\n'));
    expect([soft, hard]).toEqual(['0', '0']);
    const [argv, envText] = [rest!.slice(0, rest!.indexOf('\n')), rest!.slice(rest!.indexOf('\n') + 1)];
    expect(argv.split('\0').slice(0, -1)).toEqual(['--min-semi-space-size=16', join(lib, 'luks-ssm.cjs'), 'start', 'a b', '$HOME', '--x=1']);
    const env = Object.fromEntries(envText.split('\0').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    // The fake node is a shell script: drop what its own shell adds.
    for (const shellOwn of ['PWD', 'OLDPWD', 'SHLVL', '_']) delete env[shellOwn];
    expect(env).toEqual({ ...kept, PATH: FIXED_PATH });
  });

  it('starts the real node cleanly under an OpenSSL config and NODE_OPTIONS that would stop it', async () => {
    const lib = join(dir, 'real');
    await mkdir(lib);
    await symlink(process.execPath, join(lib, 'node'));
    await writeFile(join(lib, 'luks-ssm.cjs'), "process.stdout.write('ran ' + process.argv.slice(2).join(' '));\n");
    await writeFile(join(dir, 'bad.cnf'), 'garbage [[[\n');
    const launcher = await launcherIn(lib);
    const direct = await run(process.execPath, [join(lib, 'luks-ssm.cjs')], { OPENSSL_CONF: join(dir, 'bad.cnf') });
    expect(direct.code).not.toBe(0);
    const outcome = await run(launcher, ['--version'], { OPENSSL_CONF: join(dir, 'bad.cnf'), NODE_OPTIONS: '--require /nonexistent.js', PATH: FIXED_PATH });
    expect(outcome).toEqual({ code: 0, stdout: 'ran --version', stderr: '' });
  });

  it('passes on every AWS_* variable src/ reads', async () => {
    const lib = join(dir, 'aws');
    await mkdir(lib);
    await writeFile(join(lib, 'node'), '#!/bin/sh\nenv -0\n', { mode: 0o755 });
    const read = new Set(['AWS_ENDPOINT_URL_SSM', 'AWS_ENDPOINT_URL_KMS']);
    for (const file of await readdir(join(ROOT, 'src'), { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      for (const m of (await readFile(join(ROOT, 'src', file), 'utf8')).matchAll(/\benv\.(AWS_[A-Z0-9_]+)/g)) read.add(m[1]!);
    }
    expect(read.size).toBeGreaterThan(10);
    const given = Object.fromEntries([...read].map((name) => [name, `v-${name}`]));
    const outcome = await run(await launcherIn(lib), [], given);
    const env = Object.fromEntries(outcome.stdout.split('\0').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    for (const name of read) expect(env[name], name).toBe(`v-${name}`);
  });

  it('has the unit unset exactly the variables proved dropped here', async () => {
    expect((await unsetEnvironment()).sort()).toEqual([...DANGEROUS].sort());
  });
});
