// Which of our streams is the journal: JOURNAL_STREAM's device:inode against the descriptor's own (systemd.exec(5)).
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isJournalStream } from '../../src/systemd/journal-stream.ts';

describe('isJournalStream', () => {
  it('is true only for the descriptor whose device:inode JOURNAL_STREAM names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-journal-'));
    const journal = openSync(join(dir, 'journal'), 'w');
    const other = openSync(join(dir, 'other'), 'w');
    try {
      const stats = fstatSync(journal, { bigint: true });
      const named = `${stats.dev}:${stats.ino}`;
      expect(isJournalStream(journal, named)).toBe(true);
      expect(isJournalStream(other, named)).toBe(false);
      expect(isJournalStream(journal, undefined)).toBe(false);
      expect(isJournalStream(journal, `${stats.dev}:${stats.ino}x`)).toBe(false);
      expect(isJournalStream(9999, named)).toBe(false);
    } finally {
      closeSync(journal);
      closeSync(other);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
