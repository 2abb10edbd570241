// The lifecycle verbs' command line: what parses, and the one-line usage errors for what does not.
import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/cli/args.ts';
import { UnlockError } from '../../src/errors.ts';

function usageErrorOf(argv: string[]): string {
  try {
    parseCommand(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UnlockError);
    expect((error as UnlockError).kind).toBe('USAGE');
    return (error as UnlockError).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('lifecycle verbs', () => {
  it('enroll --format / --add-to-existing with their options', () => {
    expect(parseCommand(['enroll', '--format', '--mkfs', '--dry-run', 'data'])).toMatchObject({
      verb: 'enroll', volume: 'data', lifecycle: { format: true, mkfs: true, dryRun: true, addToExisting: false, force: false },
    });
    expect(parseCommand(['enroll', 'data', '--add-to-existing', '--existing-key-file', '/root/old.key', '--force'])).toMatchObject({
      verb: 'enroll', lifecycle: { addToExisting: true, existingKeyFile: '/root/old.key', force: true },
    });
  });

  it('rotate [--dry-run]; migrate --from FILE [--apply] reads FILE as the config', () => {
    expect(parseCommand(['rotate', 'data'])).toMatchObject({ verb: 'rotate', lifecycle: { dryRun: false } });
    expect(parseCommand(['migrate', '--from', '/etc/default/luks-mount', 'data', '--apply'])).toMatchObject({
      verb: 'migrate', volume: 'data', configFile: '/etc/default/luks-mount', lifecycle: { apply: true },
    });
  });

  it('recovery-key [--output FILE]; enroll ... --recovery-key [--output FILE]', () => {
    expect(parseCommand(['recovery-key', 'data'])).toMatchObject({ verb: 'recovery-key', volume: 'data', lifecycle: { output: undefined } });
    expect(parseCommand(['recovery-key', '--output', '/root/rk', 'data'])).toMatchObject({ lifecycle: { output: '/root/rk' } });
    expect(parseCommand(['enroll', '--format', '--recovery-key', '--output', '/root/rk', 'data'])).toMatchObject({
      verb: 'enroll', lifecycle: { format: true, recoveryKey: true, output: '/root/rk' },
    });
  });

  it.each([
    [['enroll', '--format', '--output', 'f', 'data'], '--output goes with --recovery-key'],
    [['enroll', '--format', '--recovery-key', '--dry-run', 'data'], '--recovery-key does not go with --dry-run'],
    [['recovery-key', '--force', 'data'], '--force does not go with recovery-key'],
    [['rotate', '--output', 'f', 'data'], '--output does not go with rotate'],
    [['enroll', 'data'], 'enroll takes exactly one of --format (a blank device) and --add-to-existing (a LUKS volume)'],
    [['enroll', '--format', '--add-to-existing', 'data'], 'enroll takes exactly one of --format (a blank device) and --add-to-existing (a LUKS volume)'],
    [['enroll', '--format', '--existing-key-file', 'k', 'data'], '--existing-key-file goes with --add-to-existing'],
    [['enroll', '--add-to-existing', '--mkfs', 'data'], '--mkfs goes with --format'],
    [['rotate', '--force', 'data'], '--force does not go with rotate'],
    [['start', '--dry-run', 'data'], '--dry-run does not go with start'],
    [['migrate', 'data'], 'migrate needs --from FILE (the luks-mount config, e.g. /etc/default/luks-mount)'],
    [['migrate', '--from', 'f', '--config', 'g', 'data'], "--config does not go with migrate (it writes the volume's config file)"],
  ])('%j: %s', (argv, message) => {
    expect(usageErrorOf(argv)).toBe(message);
  });
});

describe('the unit\'s command line', () => {
  it('reads what follows "--" as the volume, never as an option (a volume named -h must not print the help and succeed)', () => {
    expect(parseCommand(['start', '--', 'data'])).toMatchObject({ verb: 'start', volume: 'data' });
    expect(parseCommand(['stop', '--', '-h'])).toMatchObject({ verb: 'stop', volume: '-h' });
    expect(parseCommand(['start', '--', '--version'])).toMatchObject({ verb: 'start', volume: '--version' });
  });
});
