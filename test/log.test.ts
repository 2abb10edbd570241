// Logging: JSON lines for the journal, human lines on a terminal, secrets redacted even if code slips.
import { priorityPrefix } from '../src/systemd/journal-stream.ts';
import { describe, expect, it } from 'vitest';
import { createLogger, formatPrettyLine } from '../src/log.ts';
import { Secret } from '../src/secret/secret.ts';

function sink() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe('createLogger', () => {
  it('writes one JSON object per line with level, time and message', () => {
    const out = sink();
    createLogger({ destination: out.destination }).info({ volume: 'data' }, 'opened /dev/x');
    const entry = JSON.parse(out.lines[0] as string);
    expect(entry).toMatchObject({ level: 30, volume: 'data', msg: 'opened /dev/x' });
    expect(typeof entry.time).toBe('string');
  });

  it('never prints a Secret, and censors secret-named fields as a second guard', () => {
    const out = sink();
    const log = createLogger({ destination: out.destination });
    const secret = Secret.copyOf(Buffer.from('hunter2-passphrase'));
    log.info({ secret, nested: { passphrase: 'hunter2-passphrase', value: 'hunter2-passphrase' }, key: 'hunter2-passphrase' }, 'fetched');
    log.info({ holder: secret }, `key is ${secret}`);
    const text = out.lines.join('');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('[redacted]');
  });

  it('pretty mode prints "level: message (fields)" without JSON noise', () => {
    const out = sink();
    createLogger({ destination: out.destination, pretty: true }).warn({ volume: 'data', version: 3 }, 'falling back');
    expect(out.lines).toEqual(['warn: falling back (volume=data version=3)\n']);
  });

  it('on the journal, each line begins with its syslog priority, which journald takes off (review 16: errors were all at info)', () => {
    const out = sink();
    const log = createLogger({ destination: out.destination, level: 'debug', priorityPrefix });
    log.error('Failed to open');
    log.warn('falling back');
    log.info('opened');
    log.debug('details');
    expect(out.lines.map((line) => /^<\d>\{"level":\d+/.exec(line)?.[0])).toEqual(['<3>{"level":50', '<4>{"level":40', '<6>{"level":30', '<7>{"level":20']);
    const plain = sink();
    createLogger({ destination: plain.destination }).error('Failed to open');
    expect(plain.lines[0]).toMatch(/^\{"level":50/);
  });

  it('debug lines appear only at debug level', () => {
    const quiet = sink();
    createLogger({ destination: quiet.destination }).debug('details');
    const verbose = sink();
    createLogger({ destination: verbose.destination, level: 'debug' }).debug('details');
    expect([quiet.lines.length, verbose.lines.length]).toEqual([0, 1]);
  });
});

describe('formatPrettyLine', () => {
  it('names the level and keeps the message first', () => {
    expect(formatPrettyLine('{"level":50,"msg":"Failed to open","kind":"SYSTEM"}')).toBe('error: Failed to open (kind=SYSTEM)\n');
  });

  it('shows control characters in the message and fields escaped (a FUSE fsname, a header key id reach a terminal)', () => {
    const line = formatPrettyLine(JSON.stringify({ level: 40, msg: 'has \u001b]0;x\u0007 mounted\nok: fake', source: '\u009b31m' }));
    expect(line).toBe('warn: has \\x1b]0;x\\x07 mounted\\x0aok: fake (source=\\x9b31m)\n');
  });
});
