// Command-line grammar of the lifecycle verbs (enroll, rotate, migrate), merged into src/cli/args.ts; no logic here.
import { UnlockError } from '../errors.ts';

export const LIFECYCLE_OPTIONS = {
  format: { type: 'boolean' },
  'add-to-existing': { type: 'boolean' },
  'existing-key-file': { type: 'string' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  mkfs: { type: 'boolean' },
  from: { type: 'string' },
  apply: { type: 'boolean' },
  'recovery-key': { type: 'boolean' },
  output: { type: 'string' },
} as const;

export interface LifecycleFlags {
  /** migrate: write the config (otherwise only say what would be written). */
  apply: boolean;
  format: boolean;
  addToExisting: boolean;
  existingKeyFile: string | undefined;
  force: boolean;
  dryRun: boolean;
  mkfs: boolean;
  /** enroll: also add a recovery key. */
  recoveryKey: boolean;
  /** recovery-key, enroll --recovery-key: write the key to this new file instead of the terminal. */
  output: string | undefined;
}

type Values = { [K in keyof typeof LIFECYCLE_OPTIONS]?: (typeof LIFECYCLE_OPTIONS)[K]['type'] extends 'string' ? string : boolean };

const ALLOWED: Record<string, ReadonlyArray<keyof typeof LIFECYCLE_OPTIONS>> = {
  enroll: ['format', 'add-to-existing', 'existing-key-file', 'force', 'dry-run', 'mkfs', 'recovery-key', 'output'],
  'recovery-key': ['output'],
  rotate: ['dry-run'],
  migrate: ['from', 'apply'],
};

function usageError(message: string): UnlockError {
  return new UnlockError('USAGE', message, { hint: 'see luks-ssm --help' });
}

/** Refuses lifecycle options on verbs that do not take them (e.g. `start --force`). */
export function checkLifecycleOptions(verb: string, values: Values): void {
  const allowed = ALLOWED[verb] ?? [];
  const stray = (Object.keys(LIFECYCLE_OPTIONS) as Array<keyof typeof LIFECYCLE_OPTIONS>).find((name) => values[name] !== undefined && !allowed.includes(name));
  if (stray !== undefined) throw usageError(`--${stray} does not go with ${verb}`);
  if (verb === 'enroll') {
    if (values.format === values['add-to-existing']) throw usageError('enroll takes exactly one of --format (a blank device) and --add-to-existing (a LUKS volume)');
    if (values['existing-key-file'] !== undefined && !values['add-to-existing']) throw usageError('--existing-key-file goes with --add-to-existing');
    if (values.mkfs && !values.format) throw usageError('--mkfs goes with --format');
    if (values.output !== undefined && !values['recovery-key']) throw usageError('--output goes with --recovery-key');
    if (values['recovery-key'] && values['dry-run']) throw usageError('--recovery-key does not go with --dry-run');
  }
  if (verb === 'migrate' && values.from === undefined) throw usageError('migrate needs --from FILE (the luks-mount config, e.g. /etc/default/luks-mount)');
}

export function lifecycleFlagsOf(values: Values): LifecycleFlags {
  return {
    apply: values.apply ?? false,
    format: values.format ?? false,
    addToExisting: values['add-to-existing'] ?? false,
    existingKeyFile: values['existing-key-file'],
    force: values.force ?? false,
    dryRun: values['dry-run'] ?? false,
    mkfs: values.mkfs ?? false,
    recoveryKey: values['recovery-key'] ?? false,
    output: values.output,
  };
}

/** migrate reads the old file where other verbs read --config: the loader validates it the same way. */
export function migrateConfigFile(values: Values & { config?: string }): string {
  if (values.from === undefined) throw usageError('migrate needs --from FILE (the luks-mount config, e.g. /etc/default/luks-mount)');
  if (values.config !== undefined) throw usageError('--config does not go with migrate (it writes the volume\'s config file)');
  return values.from;
}

export const LIFECYCLE_USAGE = `Key lifecycle (see docs/lifecycle.md for the IAM permissions of each):
  enroll <volume> --format [--mkfs] [--force] [--dry-run]
                     new passphrase (KMS GenerateRandom) stored first, then a blank device formatted LUKS2
  enroll <volume> --add-to-existing [--existing-key-file F] [--force] [--dry-run]
                     new passphrase added to a LUKS volume, authorised by an existing one (asked at a terminal; or piped, or F)
  enroll ... --recovery-key [--output FILE]
                     also add a recovery key (as the recovery-key verb does)
  recovery-key <volume> [--output FILE]
                     add a recovery key (systemd-cryptenroll's format) in its own key slot, authorised by the
                     SSM key; shown once on the terminal (or written to FILE, mode 0600, which must not exist);
                     replaces an older recovery key; rotate never removes it
  rotate <volume> [--dry-run]
                     new passphrase: add first, verify, remove the old slot last; resumes an interrupted run
  migrate <volume> --from FILE [--apply]
                     turn a luks-mount config into /etc/luks-ssm/<volume>.conf and print the switch-over
`;
