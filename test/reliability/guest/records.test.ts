// The guest part of the Reliability section: rendered from the records present, imported from a VM work dir.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { guestRecordsMarkdown, importGuestRecords, vmRecordsDir } from './records.ts';
import type { PowerCutRecord } from './power-cut-record.ts';
import { parseSoakOutput } from './soak-record.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'guest-records-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const soakOutput = [
  'soak guest debian=12.8 kernel=6.1.0-28-amd64 systemd=252 luks_ssm=0.1.0',
  ...Array.from({ length: 30 }, (_, i) => `soak cycle=${i + 1} start_ms=5000 stop_ms=2000 cycle_ms=9000 peak_bytes=${62 * 1048576} cgroup_inode=${i} checked=0 bad=0 written=4 leaked=0`),
  'soak final checked=120 bad=0',
].join('\n');

describe('guest records', () => {
  it('says how to record what is missing', () => {
    const text = guestRecordsMarkdown(tempDir());
    expect(text).toContain('### Soak in the guest');
    expect(text).toContain('Not recorded yet: `node test/vm/run.ts --only 01,15`');
    expect(text).toContain('Not recorded yet: `node test/vm/run.ts --only 01,16`');
  });

  it('renders the soak and the power-cut table from the imported records', () => {
    const work = tempDir();
    const results = tempDir();
    mkdirSync(join(work, 'reliability'));
    writeFileSync(join(work, 'reliability', 'soak-30.json'), JSON.stringify(parseSoakOutput(soakOutput, new Date('2026-12-06'))));
    const cuts: PowerCutRecord = {
      date: '2026-12-06',
      rows: [
        { verb: 'rotate', step: 'store', source: 'ssm', stoppedAfterStep: true, keyslotsAtCut: 2, opened: 'at boot', rerunExit: 0, opensAfterRerun: true },
        { verb: 'rotate', step: 'store', source: 'kms', stoppedAfterStep: true, keyslotsAtCut: 2, opened: 'no', rerunExit: 75, opensAfterRerun: false },
      ],
    };
    writeFileSync(join(work, 'reliability', 'power-cut.json'), JSON.stringify(cuts));
    expect(importGuestRecords(work, results)).toEqual(['soak-30.json', 'power-cut.json']);
    const text = guestRecordsMarkdown(results);
    expect(text).toContain('| 30 | 2026-12-06, Debian 12.8, luks-ssm 0.1.0 | 120 / 120 | 0 | 0 | 5 / 5 s | 9 / 9 s | 62 / 62 / 62 / 62 |');
    expect(text).toContain('| `rotate` | store | opened (at boot); second run completed, opens | **did not open**; second run **exit 75** |');
  });

  it('renders a record made before the cycle times were kept', () => {
    const results = tempDir();
    const { cycleSec: _drop, ...old } = parseSoakOutput(soakOutput, new Date('2026-12-06'));
    writeFileSync(join(results, 'soak-200.json'), JSON.stringify({ ...old, cycles: 200 }));
    expect(guestRecordsMarkdown(results)).toContain('| 200 | 2026-12-06, Debian 12.8, luks-ssm 0.1.0 | 120 / 120 | 0 | 0 | 5 / 5 s | not recorded |');
  });

  it('refuses a work dir without records, and reads --vm-records in both forms', () => {
    expect(() => importGuestRecords(tempDir(), tempDir())).toThrow('no soak or power-cut record');
    expect(vmRecordsDir(['--check'])).toBeUndefined();
    expect(vmRecordsDir(['--vm-records', '.vm-work/bookworm'])).toBe('.vm-work/bookworm');
    expect(vmRecordsDir(['--vm-records=/tmp/w'])).toBe('/tmp/w');
    expect(() => vmRecordsDir(['--vm-records'])).toThrow('needs a VM work dir');
  });
});
