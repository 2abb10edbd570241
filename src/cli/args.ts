// Command-line grammar: `luks-ssm <verb> [options] <volume>`, parsed with node:util parseArgs; no logic here.
import { parseArgs } from 'node:util';
import { UnlockError } from '../errors.ts';
import { suggestName } from '../config/suggest.ts';
import { checkLifecycleOptions, LIFECYCLE_OPTIONS, lifecycleFlagsOf, migrateConfigFile, type LifecycleFlags } from '../lifecycle/args.ts';

export const VOLUME_VERBS = ['start', 'stop', 'status', 'check', 'enable', 'disable', 'fetch', 'enroll', 'rotate', 'migrate', 'recovery-key'] as const;
export type VolumeVerb = (typeof VOLUME_VERBS)[number];

export type Command =
  | { verb: 'help'; topic?: VolumeVerb }
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
    throw usageError(parseArgsMessage(error));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === 'help') return { verb: 'help', ...helpTopic(values.help ? positionals[0] : positionals[1]) };
  if (values.version || positionals[0] === 'version') return { verb: 'version' };
  const [verb, ...rest] = positionals;
  if (verb === undefined) throw usageError('no verb given');
  if (verb === 'generate') {
    if (rest.length < 1 || rest.length > 3) throw usageError('generate takes 1 to 3 directories (normal, early, late)');
    return { verb: 'generate', dirs: rest };
  }
  checkLifecycleOptions(verb, values);
  if (!isVolumeVerb(verb)) throw usageError(`unknown verb '${verb}'${didYouMean(verb, VOLUME_VERBS)}`);
  if (rest.length !== 1) throw usageError(`${verb} takes exactly one volume name, got ${rest.length}`);
  if (values.json && verb !== 'status') throw usageError('--json goes with status');
  // The unit runs `start <volume>` with the volume's own config: a config named here would not be the one used at boot.
  if (values.config !== undefined && (verb === 'enable' || verb === 'disable')) {
    throw usageError(`--config does not go with ${verb}: the unit reads /etc/luks-ssm/${rest[0]}.conf, put the config there`);
  }
  return {
    verb: verb as VolumeVerb,
    volume: rest[0] as string,
    configFile: verb === 'migrate' ? migrateConfigFile(values) : values.config,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    ...(verb === 'enroll' || verb === 'rotate' || verb === 'migrate' || verb === 'recovery-key' ? { lifecycle: lifecycleFlagsOf(values) } : {}),
  };
}

function isVolumeVerb(word: string | undefined): word is VolumeVerb {
  return (VOLUME_VERBS as readonly (string | undefined)[]).includes(word);
}

/** `luks-ssm start --help` and `luks-ssm help start` describe start; anything else gets the whole text. */
function helpTopic(word: string | undefined): { topic?: VolumeVerb } {
  return isVolumeVerb(word) ? { topic: word } : {};
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const near = suggestName(word, candidates);
  return near === undefined ? '' : `, did you mean '${near}'?`;
}

/**
 * parseArgs' own messages advise on positionals starting with '-' and quote unevenly (review 8: `start --jsn`):
 * one short line in the style of the others instead.
 */
function parseArgsMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const unknown = /^Unknown option '(-[^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== undefined) {
    const names = Object.entries(OPTIONS).flatMap(([name, spec]) => ['short' in spec ? `-${spec.short}` : [], `--${name}`].flat());
    return `unknown option '${unknown}'${unknown.startsWith('--') ? didYouMean(unknown, names) : ''}`;
  }
  const option = /^Option '(?:-\w, )?(--[\w-]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return /argument missing/.test(message) ? `${option} needs a value` : `${option} takes no value`;
  }
  return message;
}
