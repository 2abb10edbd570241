// The AWS CLI as the comparison point (the old shell-script design): found on PATH, pointed at the emulator.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FIXTURE_PARAMETER } from './fetch-fixture.ts';

/** The aws command line for the fixture's parameter, or undefined when no working `aws` is installed. */
export async function findAwsCli() {
  try {
    await promisify(execFile)('aws', ['--version'], { timeout: 10_000 });
  } catch {
    return undefined;
  }
  return {
    command: (fixture) => ({
      file: 'aws',
      args: ['ssm', 'get-parameters', '--names', FIXTURE_PARAMETER, '--with-decryption', '--endpoint-url', fixture.emulator.url, '--region', fixture.emulator.region, '--output', 'json'],
      // The fixture's environment, with this machine's HOME so a pyenv or pipx install still resolves.
      env: { ...fixture.env, HOME: process.env.HOME ?? fixture.env.HOME, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    }),
  };
}
