// A region from instance metadata is an AWS attempt like any other: its failures reach onRetry (start opens the
// password question at once) and the abort signal stops it (a typed key opened the volume).
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetryNotice } from '../../src/aws/retry.ts';
import { createSsmKeySource } from '../../src/secret/ssm-source.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import { lifecycleConfig } from '../lifecycle/config.ts';

// A port that accepts and drops every connection: instance metadata down, no region from it.
let dropper: Server;
let endpoint: string;
beforeAll(async () => {
  dropper = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(dropper.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => dropper.close(() => resolve())));

const NO_REGION_ENV = { AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

describe('SSM key source without SSM_REGION while instance metadata is down', () => {
  it('reports each failed region lookup through onRetry long before the deadline, and stops when aborted', async () => {
    const source = createSsmKeySource(lifecycleConfig(endpoint, { region: undefined }), { env: NO_REGION_ENV, clock: realClock, log: createRecordingLogger() });
    const notices: RetryNotice[] = [];
    const stop = new AbortController();
    const started = Date.now();
    const keys = source.keys(started + 20_000, {
      signal: stop.signal,
      onRetry: (notice) => {
        notices.push(notice);
        if (notices.length === 2) stop.abort();
      },
    });
    const ended = await keys.next().then(() => 'a key', (error: unknown) => error);
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(notices[0]!.what).toBe('get the region from instance metadata');
    // Stopped by the abort, not by the 20 s deadline.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ended).not.toBe('a key');
  }, 30_000);
});
