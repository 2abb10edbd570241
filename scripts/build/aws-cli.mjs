// The AWS CLI as the comparison point (the old shell-script design): found on PATH, pointed at the emulator.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FIXTURE_PARAMETER } from './fetch-fixture.ts';

/** The aws command reading the fixture's parameter, or undefined when no working `aws` is installed. */
export async function awsCliCommand(fixture) {
  try {
    await promisify(execFile)('aws', ['--version'], { timeout: 10_000 });
  } catch {
    return undefined;
  }
  const { url, region } = fixture.emulator;
  return {
    file: 'aws',
    args: ['ssm', 'get-parameters', '--names', FIXTURE_PARAMETER, '--with-decryption', '--endpoint-url', url, '--region', region, '--output', 'json'],
    // The fixture's environment (its AWS_CONFIG_FILE is /dev/null), with this machine's HOME so a pyenv or
    // pipx install of the CLI still resolves.
    env: { ...fixture.env, HOME: process.env.HOME ?? fixture.env.HOME },
  };
}
