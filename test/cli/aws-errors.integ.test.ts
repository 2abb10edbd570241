// AWS failures through the built CLI and the real SDK against the emulator: each exit code with the line a user reads.
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { startEmulator, type Emulator, type FaultSpec } from '../emulator/index.ts';
import type { CliResult } from '../support/cli.ts';
import { failure, outcome, stepLines } from './check-report.ts';
import { canRunCryptsetup } from './luks-image.ts';
import { DISK0_KEY, setUpOneDisk, type OneDisk } from './one-disk.ts';

/** The smallest TIMEOUT_SEC the config accepts; runs that wait for it take this long plus start-up. */
const DEADLINE_SEC = 5;
const SLACK_MS = 4_000;
/** check steps that call AWS: whichever asks first meets the failure (kms-key reads the parameter's key). */
const AWS_STEP = /^(kms-key|key)$/;

let scene: OneDisk;

/** A fresh emulator holding /luks/disk0, for tests that change faults or the region. */
async function withOwnEmulator<T>(opts: { region?: string; faults?: FaultSpec }, use: (emulator: Emulator) => Promise<T>): Promise<T> {
  const emulator = await startEmulator(opts.region === undefined ? {} : { region: opts.region });
  try {
    emulator.putParameter('/luks/disk0', DISK0_KEY.toString('utf8'));
    if (opts.faults) emulator.faults.set(opts.faults);
    return await use(emulator);
  } finally {
    await emulator.stop();
  }
}

/** check passed config, device and luks, then failed at an AWS step with exactly this line and fix, and stopped. */
function expectAwsFailure(expect: ExpectStatic, result: CliResult, file: string, code: number, detail: string | RegExp, fix?: string): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code, stderr: '' });
  expect(stepLines(result.stdout, ['config', 'device', 'luks'])).toEqual(scene.okUntilKey(file));
  const failed = failure(result.stdout);
  expect(failed).toEqual({
    step: expect.stringMatching(AWS_STEP),
    detail: typeof detail === 'string' ? detail : expect.stringMatching(detail),
    fix,
  });
  expect(outcome(result.stdout)).toEqual({ failed: [failed?.step], last: failed?.step });
}

describe.skipIf(!canRunCryptsetup)('CLI errors from AWS (built CLI, real SDK, emulator)', { concurrent: true }, () => {
  beforeAll(async () => {
    scene = await setUpOneDisk('aws-errors');
  });
  afterAll(async () => {
    await scene?.tearDown();
  });

  it('parameter not found: 67', async ({ expect }) => {
    const file = await scene.volume('notfound', { SSM_PATH: '/luks/nope' });
    expectAwsFailure(expect, await scene.check('notfound'), file, 67, 'SSM parameter /luks/nope not found in us-east-1',
      'check SSM_PATH and SSM_REGION (names are case-sensitive), or create it: aws ssm put-parameter --type SecureString --name /luks/nope --value …');
  });

  it('ssm:GetParameter denied: 77, naming the action and the parameter ARN', async ({ expect }) => {
    const file = await scene.volume('denied');
    await withOwnEmulator({ faults: { denyActions: ['ssm:GetParameter'] } }, async (emulator) => {
      const arn = `arn:aws:ssm:us-east-1:${emulator.accountId}:parameter/luks/disk0`;
      expectAwsFailure(expect, await scene.check('denied', {}, emulator), file, 77,
        `Failed to get SSM parameter /luks/disk0: access denied to ssm:GetParameter on ${arn}`,
        `allow it in the instance role's policy: {"Effect":"Allow","Action":"ssm:GetParameter","Resource":"${arn}"}`);
    });
  });

  it('the parameter\'s KMS key disabled: 68', async ({ expect }) => {
    const key = scene.emulator.createKey({ alias: 'alias/luks-off' });
    scene.emulator.putParameter('/luks/kms-off', DISK0_KEY.toString('utf8'), { keyId: key.keyId });
    scene.emulator.setKeyState(key.keyId, 'Disabled');
    const file = await scene.volume('kms-off', { SSM_PATH: '/luks/kms-off' });
    expectAwsFailure(expect, await scene.check('kms-off'), file, 68,
      new RegExp(`^(Failed to get SSM parameter /luks/kms-off: )?KMS key ${key.arn} is disabled$`), `enable it: aws kms enable-key --key-id ${key.arn}`);
  });

  it('region and credentials from instance metadata only (no AWS_* keys, no SSM_REGION): ok', async ({ expect }) => {
    const file = await scene.volume('imds-only');
    // A region no default would give: seeing it in the output proves it came from instance metadata.
    await withOwnEmulator({ region: 'eu-central-1' }, async (emulator) => {
      const result = await scene.check('imds-only', { withRegion: false, withCredentials: false }, emulator);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(outcome(result.stdout)).toEqual({ failed: [], last: 'imds' });
      expect(stepLines(result.stdout, ['config', 'device', 'luks', 'key'])).toEqual([
        ...scene.okUntilKey(file),
        `ok    key      ssm:/luks/disk0 version 1 (eu-central-1): ${DISK0_KEY.length} bytes, opens key slot 0 of ${scene.disk0}`,
      ]);
      const imds = emulator.requests().filter((r) => r.service === 'imds').map((r) => r.action);
      expect(imds).toEqual(expect.arrayContaining(['token', 'GET /latest/meta-data/placement/region', 'credentials']));
    });
  });

  const GAVE_UP = 'on \\d+ attempts over \\d\\.\\d s, giving up at the deadline';
  it.for([
    ['every SSM call answers 500', { serverErrors: { rate: 1 } }, true,
      new RegExp(`^Failed to (get|describe) SSM parameter /luks/disk0: server error \\(InternalServerError, HTTP 500\\) ${GAVE_UP}$`)],
    ['SSM throttles every call', { throttle: { ssm: { rate: 0, burst: 0 } } }, true,
      new RegExp(`^Failed to (get|describe) SSM parameter /luks/disk0: throttled \\(ThrottlingException\\) ${GAVE_UP}$`)],
    ['no region anywhere and IMDS absent', { imds: 'absent' }, false,
      new RegExp(`^No AWS region: set SSM_REGION in \\S+, or AWS_REGION, or run on EC2 with IMDS reachable \\(instance metadata at http://127\\.0\\.0\\.1:\\d+: network error \\(ECONNRESET\\) ${GAVE_UP}\\)$`)],
  ] as const)(`%s: 69 (AWS unavailable), within TIMEOUT_SEC=${DEADLINE_SEC} + start-up`, async ([name, faults, withRegion, line], { expect }) => {
    const volume = `deadline-${name.replace(/\W+/g, '-')}`;
    const file = await scene.volume(volume, { TIMEOUT_SEC: String(DEADLINE_SEC), DEVICE_TIMEOUT_SEC: '1' });
    await withOwnEmulator({ faults }, async (emulator) => {
      const result = await scene.check(volume, { withRegion }, emulator);
      expectAwsFailure(expect, result, file, 69, line);
      // Retried until close to the deadline, then stopped: not at the first error, not at the SDK's own pace.
      expect(result.elapsedMs).toBeGreaterThan((DEADLINE_SEC - 1) * 1000);
      expect(result.elapsedMs).toBeLessThan(DEADLINE_SEC * 1000 + SLACK_MS);
    });
  });
});
