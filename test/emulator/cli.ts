// Standalone emulator for VM tests and the demo: `node test/emulator/cli.ts [--port N] [--region R] [--seed FILE.json]`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator } from './index.ts';
import type { SeedSpec } from './seed.ts';

const USAGE = 'usage: node test/emulator/cli.ts [--port N] [--region R] [--account-id ID] [--seed FILE.json]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { port: { type: 'string' }, region: { type: 'string' }, 'account-id': { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean' } },
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port: ${values.port}\n${USAGE}\n`);
    return 2;
  }
  const emulator = await startEmulator({ port, region: values.region, accountId: values['account-id'] });
  if (values.seed !== undefined) {
    try {
      const result = emulator.seed(JSON.parse(readFileSync(values.seed, 'utf8')) as SeedSpec);
      process.stderr.write(`seeded ${result.keys.length} key(s), ${result.parameters.length} parameter version(s) from ${values.seed}\n`);
    } catch (err) {
      process.stderr.write(`Failed to seed from ${values.seed}: ${err instanceof SyntaxError ? 'not valid JSON' : err instanceof Error ? err.message : String(err)}\n`);
      await emulator.stop();
      return 1;
    }
  }
  process.stdout.write(`emulator listening on ${emulator.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await emulator.stop();
  return 0;
}

process.exitCode = await main();
