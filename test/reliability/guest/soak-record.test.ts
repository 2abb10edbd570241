// The soak record: the guest's lines parsed into figures, and every failure the soak must report.
import { describe, expect, it } from 'vitest';
import { parseSoakOutput, soakProblems } from './soak-record.ts';

const MiB = 1048576;

function output(cycles: number, over: (n: number) => Partial<Record<string, number>> = () => ({}), final = 'checked=NN bad=0'): string {
  const lines = ['soak guest debian=12.8 kernel=6.1.0-28-amd64 systemd=252 luks_ssm=0.9.0', 'baseline: crypt mappings [], /run/luks-ssm entries 0'];
  for (let n = 1; n <= cycles; n++) {
    const f = { start_ms: 4000 + n, stop_ms: 2000, cycle_ms: 9000 + 100 * n, peak_bytes: 60 * MiB, cgroup_inode: 1000 + n, checked: 3 * (n - 1), bad: 0, written: 3, leaked: 0, ...over(n) };
    lines.push(`soak cycle=${n} start_ms=${f.start_ms} check_ms=300 write_ms=900 stop_ms=${f.stop_ms} leak_check_ms=400 cycle_ms=${f.cycle_ms} peak_bytes=${f.peak_bytes} cgroup_inode=${f.cgroup_inode} checked=${f.checked} bad=${f.bad} written=${f.written} leaked=${f.leaked} crypt_maps=[] run_entries=0 luks_ssm_processes=0`);
  }
  lines.push(`soak final ${final.replace('NN', String(3 * cycles))}`);
  return `${lines.join('\n')}\n`;
}

describe('soak record', () => {
  it('sums the cycles and passes a clean soak', () => {
    const record = parseSoakOutput(output(30, (n) => (n === 1 ? { peak_bytes: 90 * MiB } : {})), new Date('2026-12-06T21:00:00Z'));
    expect(record).toMatchObject({
      date: '2026-12-06', cycles: 30, leaked: 0, writes: { written: 90, checked: 90, bad: 0 },
      guest: { debian: '12.8', systemd: '252', luksSsm: '0.9.0' },
      peakMiB: { first: 90, last: 60, max: 90, min: 60, medianEarly: 60, maxLate: 60 },
      startSec: { median: 4, max: 4 }, stopSec: { median: 2, max: 2 }, cycleSec: { median: 10.6, max: 12 },
    });
    expect(soakProblems(record)).toEqual([]);
  });

  it('reports a leak, a bad write, a reused cgroup and a growing peak', () => {
    const record = parseSoakOutput(output(30, (n) => ({
      leaked: n === 7 ? 1 : 0, bad: n === 9 ? 2 : 0, cgroup_inode: n === 4 ? 1003 : 1000 + n, peak_bytes: (60 + n) * MiB,
    })), new Date());
    expect(soakProblems(record)).toEqual([
      expect.stringContaining('1 leaks'),
      expect.stringContaining('2 writes lost or corrupted'),
      expect.stringContaining('29 cgroups for 30 cycles'),
      expect.stringMatching(/memory peak grew: 90 MiB .* 64 MiB/),
    ]);
  });

  it('counts writes the final check did not see as lost', () => {
    const record = parseSoakOutput(output(10, () => ({}), 'checked=25 bad=0'), new Date());
    expect(soakProblems(record)).toEqual([expect.stringContaining('the final check saw 25 writes, the cycles made 30')]);
  });

  it('refuses output without cycles or without the final line', () => {
    expect(() => parseSoakOutput('soak final checked=0 bad=0\n', new Date())).toThrow('no cycle lines');
    expect(() => parseSoakOutput(output(6).replace(/soak final.*\n/, ''), new Date())).toThrow('no final check line');
    expect(() => parseSoakOutput(output(6).replace('peak_bytes=', 'peak='), new Date())).toThrow('no number peak_bytes=');
    expect(() => parseSoakOutput(output(6).replace('cycle_ms=', 'cycle='), new Date())).toThrow('no number cycle_ms=');
  });
});
