// The production build as it ships: runs without node_modules, carries only the instance-role credential
// chain, has no dynamic import of builtins, and its V8 code cache is accepted (or harmlessly refused).
import { execFile } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAN_FETCH, FIXTURE_PASSPHRASE, startFetchFixture } from '../../scripts/build/fetch-fixture.ts';
import { NODE_FLAGS } from '../../scripts/build/node-flags.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** What a booting instance has: our node first on PATH, no NODE_PATH, NODE_OPTIONS or extra CAs. */
const BARE_ENV = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, NODE_PATH: '' };

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>, cwd: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

let work: string;
/** A copy of build/ outside the repo, as packaging installs it in /usr/lib/luks-ssm/. */
let shipped: string;

async function copyOf(from: string, name: string): Promise<string> {
  const dir = join(work, name);
  await cp(from, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'luks-ssm-build-test-'));
  const built = await run(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--outdir', join(work, 'build')], BARE_ENV, ROOT);
  expect(built.stderr).toBe(CAN_FETCH ? '' : 'note: not root, so the code cache is warmed with --version only (a start needs a root-owned config)\n');
  expect(built.code).toBe(0);
  shipped = await copyOf(join(work, 'build'), 'usr-lib-luks-ssm');
}, 180_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('production build', () => {
  it('ships the loader, the bundle and the code cache, and no source map', async () => {
    expect((await readdir(shipped)).sort()).toEqual(['luks-ssm.bundle.cjs', 'luks-ssm.cache', 'luks-ssm.cjs']);
    expect(await readFile(join(shipped, 'luks-ssm.bundle.cjs'), 'utf8')).not.toContain('sourceMappingURL');
  });

  it('runs as an executable with no node_modules in reach', async () => {
    const loader = join(shipped, 'luks-ssm.cjs');
    expect((await readFile(loader, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect((await stat(loader)).mode & 0o111).toBe(0o111);
    const version = await run(loader, ['--version'], BARE_ENV, shipped);
    expect(version).toEqual({ code: 0, stdout: `luks-ssm ${VERSION}\n`, stderr: '' });
    const help = await run(loader, ['--help'], BARE_ENV, shipped);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: luks-ssm <verb>/m);
  });

  it('carries the environment + instance-metadata chain, not the SDK default chain', async () => {
    const bundle = await readFile(join(shipped, 'luks-ssm.bundle.cjs'), 'utf8');
    expect(bundle).toContain('/latest/meta-data/iam/security-credentials/');
    for (const fullChainOnly of ['credential-provider-node', 'credential-provider-ini', 'fromSSO', 'fromTokenFile', 'fromProcess']) {
      expect(bundle, fullChainOnly).not.toContain(fullChainOnly);
    }
  });

  it('has no dynamic import() of a node builtin (it would start the ESM loader)', async () => {
    const bundle = await readFile(join(shipped, 'luks-ssm.bundle.cjs'), 'utf8');
    const imported = [...bundle.matchAll(/\bimport\(\s*(["'`])([^"'`]+)\1\s*\)/g)].map((m) => m[2]);
    expect(imported.filter((name) => isBuiltin(name))).toEqual([]);
  });

  it('is run by the shipped launcher with the Node flags the bench measures', async () => {
    const launcher = await readFile(join(ROOT, 'packaging/files/luks-ssm'), 'utf8');
    expect(/^libdir=(.*)$/m.exec(launcher)?.[1]).toBe('/usr/lib/luks-ssm');
    expect(/^set -- (.*)$/m.exec(launcher)?.[1]).toBe(`"$libdir/node" ${NODE_FLAGS.join(' ')} "$libdir/luks-ssm.cjs" "$@"`);
  });

  it('accepts its code cache under those flags', async () => {
    const outcome = await run(process.execPath, [...NODE_FLAGS, join(shipped, 'luks-ssm.cjs'), '--version'], { ...BARE_ENV, LUKS_SSM_DEBUG_CACHE: '1' }, shipped);
    expect(outcome).toEqual({ code: 0, stdout: `luks-ssm ${VERSION}\n`, stderr: 'cache: accepted\n' });
  });

  it('starts with its code cache accepted', async () => {
    const outcome = await run(join(shipped, 'luks-ssm.cjs'), ['--version'], { ...BARE_ENV, LUKS_SSM_DEBUG_CACHE: '1' }, shipped);
    expect(outcome).toEqual({ code: 0, stdout: `luks-ssm ${VERSION}\n`, stderr: 'cache: accepted\n' });
  });

  it('refuses a cache that does not match the bundle and still runs', async () => {
    const dir = await copyOf(shipped, 'stale-cache');
    await appendFile(join(dir, 'luks-ssm.bundle.cjs'), '\n// changed after the cache was made\n');
    const outcome = await run(join(dir, 'luks-ssm.cjs'), ['--version'], { ...BARE_ENV, LUKS_SSM_DEBUG_CACHE: '1' }, dir);
    expect(outcome).toEqual({ code: 0, stdout: `luks-ssm ${VERSION}\n`, stderr: 'cache: rejected\n' });
  });

  // V8 checks a cache against the source's length only: a bundle changed in place, same length, would run the
  // cached code of the old one (issue #10, item 4). The loader binds the cache to the bundle's SHA-256.
  it('refuses a cache made for another bundle of the same length, and runs the bundle as it is', async () => {
    const dir = await copyOf(shipped, 'same-length');
    const bundle = await readFile(join(dir, 'luks-ssm.bundle.cjs'), 'utf8');
    const other = VERSION.replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    expect(bundle.split(JSON.stringify(VERSION)).length).toBeGreaterThan(1);
    await writeFile(join(dir, 'luks-ssm.bundle.cjs'), bundle.replaceAll(JSON.stringify(VERSION), JSON.stringify(other)));
    expect((await stat(join(dir, 'luks-ssm.bundle.cjs'))).size).toBe((await stat(join(shipped, 'luks-ssm.bundle.cjs'))).size);
    const outcome = await run(join(dir, 'luks-ssm.cjs'), ['--version'], { ...BARE_ENV, LUKS_SSM_DEBUG_CACHE: '1' }, dir);
    expect(outcome).toEqual({ code: 0, stdout: `luks-ssm ${other}\n`, stderr: 'cache: rejected\n' });
  });

  it('runs without a cache file', async () => {
    const dir = await copyOf(shipped, 'no-cache');
    await rm(join(dir, 'luks-ssm.cache'));
    const outcome = await run(join(dir, 'luks-ssm.cjs'), ['--version'], { ...BARE_ENV, LUKS_SSM_DEBUG_CACHE: '1' }, dir);
    expect(outcome).toEqual({ code: 0, stdout: `luks-ssm ${VERSION}\n`, stderr: 'cache: missing\n' });
  });

  // luks-ssm reads only root-owned config files.
  it.skipIf(!CAN_FETCH)('fetches the passphrase from the emulator on loopback and never prints it', async () => {
    const fixture = await startFetchFixture();
    try {
      const outcome = await run(join(shipped, 'luks-ssm.cjs'), fixture.args, { ...fixture.env, ...BARE_ENV }, shipped);
      expect(outcome.stdout).toMatch(new RegExp(`^fetched ${Buffer.byteLength(FIXTURE_PASSPHRASE)} bytes .*\\(version 1\\)$`, 'm'));
      expect(outcome.code).toBe(0);
      expect(outcome.stdout + outcome.stderr).not.toContain(FIXTURE_PASSPHRASE);
    } finally {
      await fixture.stop();
    }
  });

  // Start-up savings that a pino or SDK release could silently undo (see scripts/build/*.mjs for the figures).
  it('bundles only the SSM client and commands it names, and no full command index', async () => {
    const bundle = await readFile(join(shipped, 'luks-ssm.bundle.cjs'), 'utf8');
    expect(bundle).not.toMatch(/DescribeMaintenanceWindows|CreateOpsItem|GetInventory/);
    expect(bundle).toContain('GetParameterHistory');
  });

  it.skipIf(!CAN_FETCH)('fetch loads no node:http, zlib, worker_threads or web streams', async () => {
    const fixture = await startFetchFixture();
    const probe = join(work, 'print-builtins.cjs');
    await appendFile(probe, "process.on('exit', () => process.stderr.write(`builtins: ${process.moduleLoadList.join(',')}\\n`));\n");
    try {
      const outcome = await run(process.execPath, ['-r', probe, join(shipped, 'luks-ssm.cjs'), ...fixture.args], { ...fixture.env, ...BARE_ENV }, shipped);
      expect(outcome.code).toBe(0);
      const loaded = /builtins: (.*)/.exec(outcome.stderr)?.[1]?.split(',') ?? [];
      // tls loads as it would for real SSM (the fixture's endpoint is plain http on loopback).
      expect(loaded).toContain('NativeModule tls');
      expect(loaded.filter((m) => /^NativeModule (https?|_http_client|zlib|worker_threads|internal\/webstreams\/readablestream)$/.test(m))).toEqual([]);
    } finally {
      await fixture.stop();
    }
  });

  // Left unset, authSchemePreference and disableClockSkewCorrection are looked up in both files on every call.
  it.skipIf(!CAN_FETCH)('fetch reads no AWS shared config or credentials file', async () => {
    const fixture = await startFetchFixture();
    const probe = join(work, 'print-reads.cjs');
    await appendFile(probe, [
      "const fs = require('node:fs'), fsp = require('node:fs/promises'), reads = [];",
      'for (const [mod, names] of [[fs, ["openSync", "readFileSync", "readFile", "open"]], [fsp, ["open", "readFile"]]]) {',
      '  for (const name of names) { const real = mod[name]; mod[name] = function (path, ...rest) { reads.push(String(path)); return real.call(this, path, ...rest); }; }',
      '}',
      "process.on('exit', () => process.stderr.write(`reads: ${JSON.stringify(reads)}\\n`));",
      '',
    ].join('\n'));
    const awsFiles = { AWS_CONFIG_FILE: join(work, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-credentials') };
    await appendFile(awsFiles.AWS_CONFIG_FILE, '[default]\nregion = us-east-1\n');
    await appendFile(awsFiles.AWS_SHARED_CREDENTIALS_FILE, '[default]\n');
    try {
      const env = { ...fixture.env, ...BARE_ENV, ...awsFiles };
      const outcome = await run(process.execPath, ['-r', probe, join(shipped, 'luks-ssm.cjs'), ...fixture.args], env, shipped);
      expect(outcome.code).toBe(0);
      const reads = JSON.parse(/reads: (.*)/.exec(outcome.stderr)?.[1] ?? 'null') as string[];
      expect(reads.some((path) => path.endsWith('.conf'))).toBe(true);
      expect(reads.filter((path) => path.startsWith(join(work, 'aws-')))).toEqual([]);
    } finally {
      await fixture.stop();
    }
  });
});
