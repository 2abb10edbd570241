// The key source start/check/fetch use, chosen by KEY_SOURCE: SSM (with history and replica regions) or KMS tokens.
import { resolveDevice } from '../device/resolve.ts';
import { luksUuid } from '../luks/cryptsetup.ts';
import { readLuksHeader } from '../luks/keyslots.ts';
import { kmsTokensOf } from '../luks/token.ts';
import { createKmsKeySource, fetchInstanceId } from '../secret/kms-source.ts';
import type { RetryHooks } from '../aws/retry.ts';
import type { KeySource } from '../secret/source.ts';
import { awsContextFor, createSsmKeySource } from '../secret/ssm-source.ts';
import type { Clock, Logger, Runner, VolumeConfig } from '../types.ts';

export interface KeySourceDeps {
  env: Record<string, string | undefined>;
  clock: Clock;
  log: Logger;
  run: Runner;
  devRoot?: string | undefined;
}

export function createKeySource(config: VolumeConfig, deps: KeySourceDeps): KeySource {
  if ((config.keySource ?? 'ssm') === 'ssm') return createSsmKeySource(config, deps);
  return createKmsKeySource(config, {
    clock: deps.clock,
    log: deps.log,
    aws: (deadline, hooks) => awsContextFor(config, deps, config.region, deadline, hooks),
    async readHeader(deadline) {
      const device = await resolveDevice(config.device, {
        deadline: Math.min(deadline, deps.clock.now() + config.deviceTimeoutSec * 1000),
        clock: deps.clock,
        ...(deps.devRoot === undefined ? {} : { devRoot: deps.devRoot }),
        allowRegularFile: true,
      });
      const uuid = await luksUuid(deps.run, device);
      return { device, uuid, tokens: kmsTokensOf(await readLuksHeader(deps.run, device)) };
    },
    ...(config.kmsContextInstanceId
      ? { instanceId: (deadline: number, hooks?: RetryHooks) => fetchInstanceId({ imdsEndpoint: config.endpoints.imds, env: deps.env, deadline, clock: deps.clock, log: deps.log, hooks }) }
      : {}),
  });
}

/** check's kms-key step for this volume: finds the key (token, parameter or KMS_KEY_ID) and judges its state. */
export async function checkVolumeKmsKey(config: VolumeConfig, deps: KeySourceDeps, deadline: number): Promise<string> {
  const { checkKmsKey } = await import('./kms-check.ts');
  const aws = await awsContextFor(config, deps, config.region, deadline);
  let tokenKeyId: string | undefined;
  if (config.keySource === 'kms') {
    const device = await resolveDevice(config.device, { deadline, clock: deps.clock, ...(deps.devRoot === undefined ? {} : { devRoot: deps.devRoot }), allowRegularFile: true });
    tokenKeyId = kmsTokensOf(await readLuksHeader(deps.run, device))[0]?.keyId;
  }
  return checkKmsKey(aws, config, tokenKeyId, { deadline, clock: deps.clock, log: deps.log });
}
