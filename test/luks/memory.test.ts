// /proc/meminfo → MemTotal and MemAvailable; a slot's memory against them: fail above MemTotal, warn above half.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInstanceMemory, slotMemoryVerdict } from '../../src/luks/memory.ts';

describe('readInstanceMemory', () => {
  it('reads MemTotal and MemAvailable in KiB; a missing MemTotal is an error naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-proc-'));
    try {
      writeFileSync(join(dir, 'meminfo'), 'MemTotal:         492544 kB\nMemFree:          100000 kB\nMemAvailable:     358400 kB\n');
      expect(await readInstanceMemory(dir)).toEqual({ totalKib: 492544, availableKib: 358400 });
      writeFileSync(join(dir, 'meminfo'), 'MemFree:          100000 kB\n');
      await expect(readInstanceMemory(dir)).rejects.toThrow(`Failed to read ${join(dir, 'meminfo')}: no MemTotal line`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('this host\'s /proc/meminfo parses', async () => {
    const memory = await readInstanceMemory();
    expect(memory.totalKib).toBeGreaterThan(0);
    expect(memory.availableKib).toBeLessThanOrEqual(memory.totalKib);
  });
});

describe('slotMemoryVerdict', () => {
  const memory = { totalKib: 2 * 1048576, availableKib: 512 * 1024 };
  it('fails above MemTotal, warns above half of it, and is ok at or below half (pbkdf2 needs none)', () => {
    expect(slotMemoryVerdict(undefined, memory)).toBe('ok');
    expect(slotMemoryVerdict(1048576, memory)).toBe('ok');
    expect(slotMemoryVerdict(1048577, memory)).toBe('warn');
    expect(slotMemoryVerdict(2 * 1048576, memory)).toBe('warn');
    expect(slotMemoryVerdict(2 * 1048576 + 1, memory)).toBe('fail');
  });
});
