// Stand-in CLI entry for the build until src/main.ts lands: --version, --help and the hidden `fetch` verb.
import { readFileSync } from 'node:fs';
declare const LUKS_SSM_VERSION: string;
import { SSMClient, GetParameterCommand } from '@aws-sdk/client-ssm';

function readConfig(file: string): Record<string, string> {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  return Object.fromEntries(entries);
}

async function fetchVolume(configFile: string): Promise<void> {
  const config = readConfig(configFile);
  const client = new SSMClient({ region: config.SSM_REGION, endpoint: config.SSM_ENDPOINT, maxAttempts: 1 });
  const out = await client.send(new GetParameterCommand({ Name: config.SSM_PATH, WithDecryption: true }));
  const bytes = Buffer.from(out.Parameter?.Value ?? '', 'utf8');
  process.stdout.write(`fetched ${bytes.length} bytes from ssm:${config.SSM_PATH} (version ${out.Parameter?.Version})\n`);
  bytes.fill(0);
}

async function runCli(argv: string[]): Promise<number> {
  if (argv[0] === '--version') return (process.stdout.write(`luks-ssm ${LUKS_SSM_VERSION}\n`), 0);
  if (argv[0] === '--help') return (process.stdout.write('Usage: luks-ssm <verb> [options] <volume>\n'), 0);
  const configAt = argv.indexOf('--config');
  if (argv[0] === 'fetch' && configAt > 0) return fetchVolume(argv[configAt + 1]).then(() => 0);
  process.stderr.write('Usage: luks-ssm <verb> [options] <volume>\n');
  return 2;
}

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Failed to fetch: ${error instanceof Error ? error.name : 'error'}\n`);
    process.exit(1);
  },
);
