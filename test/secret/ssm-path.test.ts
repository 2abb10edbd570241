// The SSM code's guard for a config without SSM_PATH (the loader allows that only with KEY_SOURCE=kms).
import { describe, expect, it } from 'vitest';
import { UnlockError } from '../../src/errors.ts';
import { withSsmPath } from '../../src/secret/ssm-source.ts';
import { lifecycleConfig } from '../lifecycle/config.ts';

describe('withSsmPath', () => {
  it('passes a config with SSM_PATH through unchanged', () => {
    const config = lifecycleConfig('http://127.0.0.1:9');
    expect(withSsmPath(config)).toBe(config);
  });

  it('refuses one without, naming the config file and the volume', () => {
    const config = { ...lifecycleConfig('http://127.0.0.1:9'), ssmPath: undefined, sources: ['/etc/luks-ssm/data.conf'] };
    let error: unknown;
    try {
      withSsmPath(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnlockError);
    expect([(error as UnlockError).kind, (error as UnlockError).message]).toEqual([
      'CONFIG', '/etc/luks-ssm/data.conf: SSM_PATH is not set, and volume data reads its passphrase from SSM',
    ]);
  });
});
