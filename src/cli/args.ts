// Command-line grammar: `luks-ssm <verb> [options] <volume>`, parsed with node:util parseArgs; no logic here.
import { parseArgs } from 'node:util';
import { UnlockError } from '../errors.ts';
import { checkLifecycleOptions, LIFECYCLE_OPTIONS, lifecycleFlagsOf, migrateConfigFile, type LifecycleFlags } from '../lifecycle/args.ts';

export const VOLUME_VERBS = ['start', 'stop', 'status', 'check', 'enable', 'disable', 'fetch', 'enroll', 'rotate', 'migrate', 'recovery-key'] as const;
export type VolumeVerb = (typeof VOLUME_VERBS)[number];

export type Command =
  | { verb: 'help' }
  | { verb: 'version' }
  | { verb: 'generate'; dirs: string[] }
  | { verb: VolumeVerb; volume: string; configFile: string | undefined; json: boolean; verbose: boolean; lifecycle?: LifecycleFlags };

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...LIFECYCLE_OPTIONS,
} as const;

function usageError(message: string): UnlockError {
  return new UnlockError('USAGE', message, { hint: 'see luks-ssm --help' });
}

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { verb: 'help' };
  if (values.version || positionals[0] === 'version') return { verb: 'version' };
  const [verb, ...rest] = positionals;
  if (verb === undefined) throw usageError('no verb given');
  if (verb === 'generate') {
    if (rest.length < 1 || rest.length > 3) throw usageError('generate takes 1 to 3 directories (normal, early, late)');
    return { verb: 'generate', dirs: rest };
  }
  checkLifecycleOptions(verb, values);
  if (!(VOLUME_VERBS as readonly string[]).includes(verb)) throw usageError(`unknown verb '${verb}'`);
  if (rest.length !== 1) throw usageError(`${verb} takes exactly one volume name, got ${rest.length}`);
  if (values.json && verb !== 'status') throw usageError('--json goes with status');
  return {
    verb: verb as VolumeVerb,
    volume: rest[0] as string,
    configFile: verb === 'migrate' ? migrateConfigFile(values) : values.config,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    ...(verb === 'enroll' || verb === 'rotate' || verb === 'migrate' || verb === 'recovery-key' ? { lifecycle: lifecycleFlagsOf(values) } : {}),
  };
}
