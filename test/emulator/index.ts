// The emulator's public face: startEmulator() and the Emulator handle tests and tools code against.
import type { AddressInfo } from 'node:net';
import type { FaultSpec } from './faults.ts';
import { createKey, deleteKeyNow, findKey } from './kms-keys.ts';
import { createRuntime, type RequestRecord } from './runtime.ts';
import { applySeed, putSeedParameter, setKeyState, type SeedResult, type SeedSpec } from './seed.ts';
import { createEmulatorServer } from './server.ts';
import { clearData, createState, DEFAULT_ACCOUNT_ID, DEFAULT_REGION, STATIC_ACCESS_KEY_ID, STATIC_SECRET_ACCESS_KEY, type KeyState } from './store.ts';

export type { FaultSpec } from './faults.ts';
export type { SeedSpec, SeedResult } from './seed.ts';
export type { RequestRecord } from './runtime.ts';

export interface EmulatorCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface Emulator {
  url: string;
  port: number;
  region: string;
  accountId: string;
  credentials: EmulatorCredentials;
  /** IAM role IMDS hands credentials for, and the instance id in its identity document. */
  role: string;
  instanceId: string;
  /**
   * Env for a child process using the real SDK against this emulator: AWS_ENDPOINT_URL_SSM,
   * AWS_ENDPOINT_URL_KMS, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
   * plus AWS_REGION unless opts.withRegion === false; opts.withCredentials === false leaves credentials
   * to IMDS. AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE point at /dev/null so the host's ~/.aws
   * never leaks in.
   */
  env(opts?: { withRegion?: boolean; withCredentials?: boolean }): Record<string, string>;
  createKey(opts?: { alias?: string; description?: string }): { keyId: string; arn: string };
  setKeyState(keyIdOrAlias: string, state: KeyState): void;
  /** The key is gone for good (past its deletion window): SSM reads answer AccessDeniedException. */
  deleteKey(keyIdOrAlias: string): void;
  /** Adds a version (overwrites); type defaults to SecureString under alias/aws/ssm. */
  putParameter(name: string, value: string, opts?: { keyId?: string; type?: 'String' | 'SecureString'; labels?: string[] }): { version: number };
  seed(spec: SeedSpec): SeedResult;
  /** Drops keys, aliases, parameters, faults and the request log (credentials stay valid). */
  reset(): void;
  faults: {
    set(f: FaultSpec): void;
    reset(): void;
  };
  requests(): RequestRecord[];
  clearRequests(): void;
  stop(): Promise<void>;
}

export interface StartOptions { port?: number; region?: string; accountId?: string; host?: '127.0.0.1' }

export async function startEmulator(opts: StartOptions = {}): Promise<Emulator> {
  const state = createState(opts.region ?? DEFAULT_REGION, opts.accountId ?? DEFAULT_ACCOUNT_ID);
  const rt = createRuntime(state);
  const server = createEmulatorServer(rt);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    region: state.region,
    accountId: state.accountId,
    credentials: { accessKeyId: STATIC_ACCESS_KEY_ID, secretAccessKey: STATIC_SECRET_ACCESS_KEY },
    role: state.role,
    instanceId: state.instanceId,
    env({ withRegion = true, withCredentials = true } = {}) {
      return {
        AWS_ENDPOINT_URL_SSM: url,
        AWS_ENDPOINT_URL_KMS: url,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: url,
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        ...(withCredentials ? { AWS_ACCESS_KEY_ID: STATIC_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: STATIC_SECRET_ACCESS_KEY } : {}),
        ...(withRegion ? { AWS_REGION: state.region } : {}),
      };
    },
    createKey(keyOpts = {}) {
      const key = createKey(state, keyOpts);
      return { keyId: key.keyId, arn: key.arn };
    },
    setKeyState: (keyIdOrAlias, keyState) => setKeyState(state, keyIdOrAlias, keyState),
    deleteKey: (keyIdOrAlias) => deleteKeyNow(state, findKey(state, keyIdOrAlias)),
    putParameter: (name, value, p = {}) => putSeedParameter(state, { name, value, type: p.type, keyId: p.keyId, labels: p.labels }),
    seed: (spec) => applySeed(state, spec),
    reset() {
      clearData(state);
      rt.faults.reset();
      rt.log.length = 0;
    },
    faults: { set: (f) => rt.faults.set(f), reset: () => rt.faults.reset() },
    requests: () => rt.log.map((r) => ({ ...r })),
    clearRequests: () => {
      rt.log.length = 0;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        rt.closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
