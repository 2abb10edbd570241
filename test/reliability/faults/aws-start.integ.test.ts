// Fault matrix, AWS side: `luks-ssm start` (the built CLI, the real SDK) against the emulator with a fault injected.
import { describe, it } from 'vitest';
import { startEmulator } from '../../emulator/index.ts';
import type { Emulator, FaultSpec } from '../../emulator/index.ts';
import { canRunCryptsetup } from '../../cli/luks-image.ts';
import { faultRow, type FaultRowSpec } from '../fault-row.ts';
import { sceneFor, waitFor } from './world.ts';

const TEST_TIMEOUT_MS = 60_000;
/** Rows that give up wait this long; the others have the scene's 30 s to get through. */
const GIVE_UP = { TIMEOUT_SEC: '5' };
const GAVE_UP = 'on \\d+ attempts over \\d+\\.\\d s, giving up at the deadline';

describe.skipIf(!canRunCryptsetup)('fault matrix: AWS faults at start', { concurrent: true, timeout: TEST_TIMEOUT_MS }, () => {
  it('network down at boot, back after 2 s: start retries and mounts', async (ctx) => {
    const scene = await sceneFor(ctx, 'net-back');
    const vol = await scene.addVolume('data');
    const port = Number(new URL(scene.emulator.url).port);
    await scene.emulator.stop();
    const running = scene.run(['start', 'data']);
    await new Promise((r) => setTimeout(r, 2_000));
    const back = await startEmulator({ port });
    ctx.onTestFinished(() => back.stop());
    back.putParameter('/luks/data', scene.key.toString('utf8'));
    const result = await running;
    faultRow(ctx, { area: 'network', fault: 'network down at boot, back after 2 s', injectedIn: 'emulator', exitCode: 0, expected: 'retries, mounts' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
    ctx.expect(back.requests().filter((r) => r.action === 'GetParameter').length).toBeGreaterThan(0);
  });

  it('network down for all of TIMEOUT_SEC: 69 at the deadline, nothing touched', async (ctx) => {
    const scene = await sceneFor(ctx, 'net-never');
    const vol = await scene.addVolume('data', GIVE_UP);
    await scene.emulator.stop();
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area: 'network', fault: 'network down, never back', injectedIn: 'emulator', exitCode: 69, expected: 'gives up at TIMEOUT_SEC' },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(new RegExp(`ECONNREFUSED\\) ${GAVE_UP}`));
  });

  type Requests = ReturnType<Emulator['requests']>;
  const retriedGet = (log: Requests) => log.filter((r) => r.action === 'GetParameter').length >= 2;
  const retried: Array<[string, FaultRowSpec['area'], FaultSpec, (log: Requests) => boolean, { imds?: boolean; over?: Record<string, string> }]> = [
    // Each IMDS answer takes longer than the first per-request timeout (1 s): the client waits longer the next time.
    ['IMDS slow (1.5 s an answer)', 'imds', { imds: 'slow', imdsDelayMs: 1_500 }, (log) => log.filter((r) => r.action === 'token').length >= 2, { imds: true }],
    ['SSM throttles every second call (50 %)', 'throttling', { throttle: { ssm: { share: 0.5 } } }, retriedGet, {}],
    ['SSM answers 500 twice', 'server', { serverErrors: { count: 2 } }, retriedGet, {}],
    ['SSM answers 503 twice', 'server', { serverErrors: { count: 2, status: 503 } }, retriedGet, {}],
    ['connection reset before the answer, twice', 'body', { resetNext: 2 }, retriedGet, {}],
    ['connection closed mid-body (Content-Length promised more)', 'body', { mutateBody: { ops: [{ kind: 'cut', at: 0.5 }], keepLength: true, count: 1, match: 'ssm:GetParameter' } }, retriedGet, {}],
    ['truncated body (JSON cut in half)', 'body', { mutateBody: { ops: [{ kind: 'cut', at: 0.5 }], count: 1, match: 'ssm:GetParameter' } }, retriedGet, {}],
    ['oversized body (17 MiB)', 'body', { mutateBody: { ops: [{ kind: 'grow', at: 0.5, count: 17 * 1024 * 1024 }], count: 1, match: 'ssm:GetParameter' } }, retriedGet, {}],
  ];
  it.for(retried)('%s: retried, mounted', async ([fault, area, faults, met, opts], ctx) => {
    const scene = await sceneFor(ctx, 'retried');
    const vol = await scene.addVolume('data', opts.over);
    scene.emulator.faults.set(faults);
    const result = await scene.run(['start', 'data'], { env: opts.imds ? { withCredentials: false, withRegion: false } : {} });
    faultRow(ctx, { area, fault, injectedIn: 'emulator', exitCode: 0, expected: 'retried, mounts' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
    ctx.expect(met(scene.emulator.requests()), 'the fault was met and retried').toBe(true);
  });

  const gaveUp: Array<[string, FaultRowSpec['area'], FaultSpec, { imds?: boolean }, RegExp]> = [
    ['IMDS absent (no credentials anywhere else)', 'imds', { imds: 'absent' }, { imds: true }, /ECONNRESET/],
    ['IMDSv2 token refused (403)', 'imds', { imds: 'token-refused' }, { imds: true }, /PUT \/latest\/api\/token answered HTTP 403/],
    ['SSM throttles every call (100 %)', 'throttling', { throttle: { ssm: { rate: 0, burst: 0 } } }, {}, /throttled \(ThrottlingException\)/],
    ['SSM answers 500 to every call', 'server', { serverErrors: { rate: 1 } }, {}, /server error \(InternalServerError, HTTP 500\)/],
  ];
  it.for(gaveUp)('%s: 69, nothing touched', async ([fault, area, faults, opts, line], ctx) => {
    const scene = await sceneFor(ctx, 'gave-up');
    const vol = await scene.addVolume('data', GIVE_UP);
    scene.emulator.faults.set(faults);
    const result = await scene.run(['start', 'data'], { env: opts.imds ? { withCredentials: false } : {} });
    const expected = faults.imds === 'token-refused' ? 'gives up at once (a setting, not an outage)' : 'gives up at TIMEOUT_SEC';
    faultRow(ctx, { area, fault, injectedIn: 'emulator', exitCode: 69, expected },
      scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(line);
    // A refused token is a setting (a hop limit, a proxy): no retry can fix it, so no wait for the deadline.
    if (faults.imds !== 'token-refused') ctx.expect(result.stderr).toMatch(new RegExp(GAVE_UP));
  });

  it('session credentials expire mid-run: fresh ones from IMDS, mounted', async (ctx) => {
    const scene = await sceneFor(ctx, 'expired');
    const vol = await scene.addVolume('data');
    scene.emulator.faults.set({ expireSessions: true });
    const running = scene.run(['start', 'data'], { env: { withCredentials: false } });
    const expired = () => scene.emulator.requests().some((r) => r.error === 'ExpiredTokenException');
    await waitFor('a call with expired credentials', expired);
    scene.emulator.faults.set({ expireSessions: false });
    const result = await running;
    faultRow(ctx, { area: 'credentials', fault: 'instance-role credentials expire mid-run', injectedIn: 'emulator', exitCode: 0, expected: 'fetches fresh ones, mounts' },
      scene.observe(result, await scene.mountedOnly(vol), await scene.noSecret(result)));
    ctx.expect(scene.emulator.requests().filter((r) => r.action === 'credentials').length).toBeGreaterThan(1);
  });

  const refused: Array<[string, FaultRowSpec['area'], number, string, (scene: Awaited<ReturnType<typeof sceneFor>>) => void, RegExp, Record<string, string>?]> = [
    ['AccessDenied on ssm:GetParameter', 'denied', 77, 'refused at once, names the action', (s) => s.emulator.faults.set({ denyActions: ['ssm:GetParameter'] }), /access denied to ssm:GetParameter on arn:aws:ssm:/],
    ['AccessDenied on kms:Decrypt', 'denied', 77, 'refused at once', (s) => s.emulator.faults.set({ denyActions: ['kms:Decrypt'] }), /kms|KMS/],
    ['KMS key disabled', 'kms', 68, 'refused at once, says how to enable it', (s) => s.emulator.setKeyState('alias/aws/ssm', 'Disabled'), /is disabled/],
    ['KMS key pending deletion', 'kms', 68, 'refused at once', (s) => s.emulator.setKeyState('alias/aws/ssm', 'PendingDeletion'), /pending deletion/],
    ['parameter missing', 'parameter', 67, 'refused at once, names the parameter', () => undefined, /SSM parameter \/luks\/nope not found/, { SSM_PATH: '/luks/nope' }],
  ];
  it.for(refused)('%s: refused, nothing touched', async ([fault, area, exitCode, expected, inject, line, over], ctx) => {
    const scene = await sceneFor(ctx, 'refused');
    const vol = await scene.addVolume('data', over);
    inject(scene);
    const result = await scene.run(['start', 'data']);
    faultRow(ctx, { area, fault, injectedIn: 'emulator', exitCode, expected }, scene.observe(result, await scene.untouched(vol), await scene.noSecret(result)));
    ctx.expect(result.stderr).toMatch(line);
  });
});
