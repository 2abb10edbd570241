// The SSM key source: region and credentials resolved on first use, then GetParameter with decryption.
import { createAwsContext } from '../aws/clients.ts';
import { decodeKeyValue } from './encoding.ts';
import { fetchSsmSecret } from './ssm.ts';
import type { KeySource } from './source.ts';
import type { Clock, Logger, VolumeConfig } from '../types.ts';

export interface SsmSourceDeps {
  env: Record<string, string | undefined>;
  clock: Clock;
  log: Logger;
}

export function createSsmKeySource(config: VolumeConfig, deps: SsmSourceDeps): KeySource {
  return {
    description: `SSM parameter ${config.ssmPath}`,
    async *keys(deadline) {
      const aws = await createAwsContext({
        region: config.region,
        endpoints: config.endpoints,
        env: deps.env,
        deadline,
        clock: deps.clock,
        log: deps.log,
        configFile: config.sources.at(-1),
      });
      const fetched = await fetchSsmSecret({ aws, name: config.ssmPath, selector: config.ssmSelector, deadline, clock: deps.clock, log: deps.log });
      const secret = decodeKeyValue(fetched.secret, config.ssmValueEncoding, fetched.name);
      yield { secret, source: `ssm:${fetched.name}`, version: fetched.version, region: aws.region };
    },
  };
}
