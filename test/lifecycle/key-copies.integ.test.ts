// Issue #10 item 2 for the lifecycle's AWS calls: after GenerateRandom + PutParameter (enroll, rotate), KMS Encrypt
// and KMS Decrypt (start with KEY_SOURCE=kms), no copy of the key is left in the process once its Secret is wiped.
// A child runs the real code against the emulator (key-copies-probe.ts); the test scans /proc/<pid>/mem.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EncryptCommand } from '@aws-sdk/client-kms';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/index.ts';
import { kmsClient, ssmClient } from '../emulator/sdk-clients.ts';
import { findInMemory, keyForms } from '../support/memory-scan.ts';

const PROBE = fileURLToPath(new URL('./key-copies-probe.ts', import.meta.url));
const READY_WAIT_MS = 30_000;

let emulator: Emulator;
let dir: string;
beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-copies-'));
});
afterAll(async () => {
  await emulator?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** 88 printable bytes, as a generated passphrase is (over 64: V8 would keep a shorter file read on its own heap). */
const canary = (): Buffer => Buffer.from(`canary-${randomBytes(60).toString('base64')}`.slice(0, 88));

/** Starts the probe and resolves once it has done its calls and wiped its keys. */
async function runProbe(args: string[], extraEnv: Record<string, string> = {}): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, [PROBE, ...args], {
    env: { PATH: '/usr/bin:/bin', PROBE_AWS_ENV: JSON.stringify(emulator.env()), ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`probe ${args[0]} not ready: ${err}`)), READY_WAIT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`probe ${args[0]} exited ${code}: ${err}`));
    });
  });
  return child;
}

async function copiesIn(child: ChildProcessWithoutNullStreams, key: Buffer): Promise<string[]> {
  try {
    return (await findInMemory(child.pid as number, keyForms(key))).map((h) => `${h.form} in ${h.region}`);
  } finally {
    child.stdin.end();
  }
}

describe('key copies left by the lifecycle AWS calls', { timeout: 90_000 }, () => {
  it('GenerateRandom then PutParameter (enroll, rotate): none of the new passphrase', async () => {
    const child = await runProbe(['enroll']);
    const stored = await ssmClient(emulator).send(new GetParameterCommand({ Name: '/luks/probe', WithDecryption: true }));
    const passphrase = Buffer.from(stored.Parameter?.Value ?? '');
    expect(passphrase.length).toBe(88);
    expect(await copiesIn(child, passphrase)).toEqual([]);
  });

  it('KMS Encrypt of a passphrase (enroll, rotate with KEY_SOURCE=kms): none of it', async () => {
    const { keyId } = emulator.createKey();
    const key = canary();
    await writeFile(join(dir, 'encrypt.key'), key, { mode: 0o600 });
    const child = await runProbe(['encrypt', join(dir, 'encrypt.key'), keyId]);
    expect(await copiesIn(child, key)).toEqual([]);
  });

  it('KMS Decrypt of a token (start with KEY_SOURCE=kms): none of the plaintext', async () => {
    const { keyId } = emulator.createKey();
    const key = canary();
    const out = await kmsClient(emulator).send(new EncryptCommand({ KeyId: keyId, Plaintext: key, EncryptionContext: { probe: 'yes' } }));
    const child = await runProbe(['decrypt', '-', keyId, Buffer.from(out.CiphertextBlob as Uint8Array).toString('base64')]);
    expect(await copiesIn(child, key)).toEqual([]);
  });

  // Node's TLS layer decrypts each record into a 16 KiB array on the C stack (TLSWrap::ClearOut) before copying it
  // into our read buffer: that one copy stays until the stack is reused, and nothing in JS can reach it. Measured:
  // exactly one, on [stack]; everything luks-ssm itself holds is zeroed. The bound fails if any other copy appears.
  it('GetParameter over https (start against real AWS): at most the TLS layer stack copy once wiped', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const key = canary();
    const body = JSON.stringify({ Parameter: { Name: '/luks/probe', Type: 'SecureString', Value: key.toString('latin1'), Version: 1 } });
    const server = createHttpsServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const child = await runProbe(['fetch-https', url], { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') });
      const copies = await copiesIn(child, key);
      expect(copies.length).toBeLessThanOrEqual(1);
      expect(copies.filter((c) => c !== 'raw bytes in [stack]')).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
