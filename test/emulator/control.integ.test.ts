// The standalone CLI and the /_emulator control API, driven from outside like the VM tests and the demo do.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type SeedSpec } from './index.ts';
import { rejectionOf, ssmClient } from './sdk-clients.ts';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'seeded passphrase\n';

let dir: string;
let child: ChildProcess;
let url: string;

async function firstLine(proc: ChildProcess, timeoutMs: number): Promise<string> {
  const lines = createInterface({ input: proc.stdout! });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  try {
    const [line] = (await once(lines, 'line')) as [string];
    return line;
  } finally {
    clearTimeout(timer);
  }
}

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(`${url}/_emulator/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

/** An SDK client for the CLI's emulator, with the static pair its info endpoint gives out. */
async function cliSsm() {
  const info = (await control('GET', 'info')).json as { region: string; credentials: Emulator['credentials'] };
  return ssmClient({ url, region: info.region, credentials: info.credentials } as Emulator);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  const seed = join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify({
    keys: [{ alias: 'alias/demo', description: 'demo key' }],
    parameters: [
      { name: '/demo/pass', value: 'old', keyId: 'alias/demo' },
      { name: '/demo/pass', value: SECRET, keyId: 'alias/demo', labels: ['current'] },
    ],
  }));
  child = spawn(process.execPath, [CLI, '--port', '0', '--region', 'eu-central-1', '--seed', seed], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await firstLine(child, 10_000);
  expect(line).toMatch(/^emulator listening on http:\/\/127\.0\.0\.1:\d+$/);
  url = line.slice('emulator listening on '.length);
});

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('standalone CLI with --seed', () => {
  it('serves the seeded parameter by label to the real SDK', async () => {
    const ssm = await cliSsm();
    const out = await ssm.send(new GetParameterCommand({ Name: '/demo/pass:current', WithDecryption: true }));
    expect(out.Parameter?.Value).toBe(SECRET);
    expect(out.Parameter?.Version).toBe(2);
    ssm.destroy();
  });

  it('control API: lists parameters without values, sets faults, reads the request log', async () => {
    const listing = await control('GET', 'parameters');
    expect(listing.json).toEqual([{ name: '/demo/pass', type: 'SecureString', version: 2, labels: ['current=2'] }]);
    expect(listing.text).not.toContain('seeded passphrase');
    expect(listing.text).not.toContain('old');

    expect((await control('POST', 'faults', { denyActions: ['ssm:GetParameter'] })).status).toBe(200);
    const ssm = await cliSsm();
    expect((await rejectionOf(ssm.send(new GetParameterCommand({ Name: '/demo/pass' })))).name).toBe('AccessDeniedException');
    ssm.destroy();
    const log = (await control('GET', 'requests')).json as Array<{ service: string; action: string; status: number }>;
    expect(log.filter((r) => r.service === 'ssm').at(-1)).toMatchObject({ action: 'GetParameter', status: 400, error: 'AccessDeniedException' });
    expect((await control('DELETE', 'faults')).status).toBe(200);
  });

  it('control API: an unknown or mistyped fault is refused, naming the field', async () => {
    const unknown = await control('POST', 'faults', { denyAction: ['ssm:GetParameter'] });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('unknown fault \\"denyAction\\"');
    const mistyped = await control('POST', 'faults', { throttle: { ssm: { rate: 'fast' } } });
    expect(mistyped.status).toBe(400);
    expect(mistyped.text).toContain('throttle.ssm');
    expect((await control('GET', 'faults')).json).toEqual({});
  });

  it('control API: a bad seed body is refused without echoing it', async () => {
    const res = await fetch(`${url}/_emulator/seed`, { method: 'POST', body: '{"parameters":[{"name":"/x","value":"leak-me"' });
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('leak-me');
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const [code] = (await exited) as [number | null];
    clearTimeout(timer);
    expect(code).toBe(0);
    await expect(fetch(`${url}/_emulator/health`)).rejects.toThrow();
  });
});

describe('seed.example.json (for the README demo)', () => {
  it('loads and serves its parameter', async () => {
    const emulator = await startEmulator();
    try {
      const spec = JSON.parse(readFileSync(fileURLToPath(new URL('./seed.example.json', import.meta.url)), 'utf8')) as SeedSpec;
      expect(emulator.seed(spec).parameters).toEqual([{ name: '/luks-ssm/demo/passphrase', version: 1 }]);
      const ssm = ssmClient(emulator);
      const out = await ssm.send(new GetParameterCommand({ Name: '/luks-ssm/demo/passphrase:current', WithDecryption: true }));
      expect(out.Parameter?.Value).toBe(spec.parameters?.[0].value);
      ssm.destroy();
    } finally {
      await emulator.stop();
    }
  });
});

describe('env() for a child process using the SDK default chain', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
    emulator.putParameter('/child/p', 'child-value');
  });
  afterAll(async () => {
    await emulator.stop();
  });

  async function runChild(env: Record<string, string>): Promise<string> {
    const script = `import { SSMClient, GetParameterCommand } from '@aws-sdk/client-ssm';
      const out = await new SSMClient({ maxAttempts: 1 }).send(new GetParameterCommand({ Name: '/child/p', WithDecryption: true }));
      process.stdout.write(out.Parameter.Value);`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: REPO, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [code] = (await once(proc, 'exit')) as [number | null];
    clearTimeout(timer);
    if (code !== 0) throw new Error(`child exited ${code}: ${stderr}`);
    return stdout;
  }

  it('static credentials and region from env()', async () => {
    expect(await runChild(emulator.env())).toBe('child-value');
  });

  it('credentials from IMDS when withCredentials is false', async () => {
    expect(await runChild(emulator.env({ withCredentials: false }))).toBe('child-value');
    expect(emulator.requests().some((r) => r.service === 'imds' && r.action === 'credentials' && r.status === 200)).toBe(true);
  });
});
