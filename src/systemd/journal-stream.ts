// A line on a stream systemd connected to the journal may begin with <N>, its syslog priority (sd-daemon(3)):
// failures then reach `journalctl -p err` and show in red in `systemctl status`, instead of all at info (review 16).
import { fstatSync } from 'node:fs';

/** True when `fd` is the stream JOURNAL_STREAM names: its device:inode, the check systemd.exec(5) asks for. */
export function isJournalStream(fd: number, journalStream: string | undefined): boolean {
  const named = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (named === null) return false;
  try {
    const stats = fstatSync(fd, { bigint: true });
    return stats.dev === BigInt(named[1]!) && stats.ino === BigInt(named[2]!);
  } catch {
    return false;
  }
}

/** The syslog priority prefix for a pino level: fatal crit, error err, warn warning, info info, below that debug. */
export function priorityPrefix(level: number): string {
  if (level >= 60) return '<2>';
  if (level >= 50) return '<3>';
  if (level >= 40) return '<4>';
  return level >= 30 ? '<6>' : '<7>';
}
