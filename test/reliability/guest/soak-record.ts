// The soak's record: parsed from the lines the guest prints per cycle (test/vm/scenarios/15-soak.sh), and judged.
export interface SoakCycle {
  cycle: number;
  startMs: number;
  /** `systemctl stop` of the volume (the writer first, then luks-ssm stop). */
  stopMs: number;
  /** The whole cycle: start, checks, writes, stop, leak checks. */
  cycleMs: number;
  peakBytes: number;
  /** Inode of the unit's cgroup: a new one each cycle, so each peak is that start's alone. */
  cgroupInode: number;
  /** Earlier writes checked after this start, and how many of them were missing or changed. */
  checked: number;
  bad: number;
  written: number;
  leaked: number;
}

export interface SoakRecord {
  date: string;
  guest: { debian: string; kernel: string; systemd: string; luksSsm: string };
  cycles: number;
  leaked: number;
  writes: { written: number; checked: number; bad: number };
  startSec: { median: number; max: number };
  /** Absent in records made before 2026-12-07. */
  stopSec?: { median: number; max: number };
  cycleSec?: { median: number; max: number };
  /** The start's memory.peak (luks-ssm start and its children: cryptsetup, mount), MiB. */
  peakMiB: { first: number; last: number; min: number; max: number; medianEarly: number; maxLate: number };
  perCycle: SoakCycle[];
}

/** The late cycles' highest peak may be this much above the early median before the peak counts as growing. */
export const PEAK_GROWTH_MAX = 1.2;
const EARLY = 5;

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fields(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(\[[^\]]*\]|\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

function num(f: Record<string, string>, name: string, line: string): number {
  const value = Number(f[name]);
  if (f[name] === undefined || !Number.isFinite(value)) throw new Error(`soak output: no number ${name}= in: ${line}`);
  return value;
}

export function parseSoakOutput(output: string, date: Date): SoakRecord {
  const lines = output.split('\n');
  const guestLine = lines.find((l) => l.startsWith('soak guest ')) ?? '';
  const g = fields(guestLine);
  const perCycle = lines.filter((l) => l.startsWith('soak cycle=')).map((line): SoakCycle => {
    const f = fields(line);
    return {
      cycle: num(f, 'cycle', line), startMs: num(f, 'start_ms', line), stopMs: num(f, 'stop_ms', line), cycleMs: num(f, 'cycle_ms', line), peakBytes: num(f, 'peak_bytes', line),
      cgroupInode: num(f, 'cgroup_inode', line), checked: num(f, 'checked', line), bad: num(f, 'bad', line),
      written: num(f, 'written', line), leaked: num(f, 'leaked', line),
    };
  });
  if (perCycle.length === 0) throw new Error('soak output: no cycle lines');
  const finalLine = lines.find((l) => l.startsWith('soak final '));
  if (finalLine === undefined) throw new Error('soak output: no final check line');
  const fin = fields(finalLine);
  const peaks = perCycle.map((c) => c.peakBytes);
  // Cycle 1 pays for reading the runtime into the page cache (charged to its cgroup): the early median starts at 2.
  const early = peaks.slice(1, 1 + EARLY);
  const late = peaks.slice(-EARLY);
  const secondsOf = (msValues: number[]) => ({ median: Math.round(median(msValues) / 100) / 10, max: Math.round(Math.max(...msValues) / 100) / 10 });
  return {
    date: date.toISOString().slice(0, 10),
    guest: { debian: g.debian ?? '?', kernel: g.kernel ?? '?', systemd: g.systemd ?? '?', luksSsm: g.luks_ssm ?? '?' },
    cycles: perCycle.length,
    leaked: perCycle.reduce((sum, c) => sum + c.leaked, 0),
    writes: {
      written: perCycle.reduce((sum, c) => sum + c.written, 0),
      checked: num(fin, 'checked', finalLine),
      bad: Math.max(num(fin, 'bad', finalLine), ...perCycle.map((c) => c.bad)),
    },
    startSec: secondsOf(perCycle.map((c) => c.startMs)),
    stopSec: secondsOf(perCycle.map((c) => c.stopMs)),
    cycleSec: secondsOf(perCycle.map((c) => c.cycleMs)),
    peakMiB: {
      first: mib(peaks[0]!), last: mib(peaks.at(-1)!), min: mib(Math.min(...peaks)), max: mib(Math.max(...peaks)),
      medianEarly: mib(median(early.length > 0 ? early : peaks)), maxLate: mib(Math.max(...late)),
    },
    perCycle,
  };
}

/** What makes the soak fail, one phrase each; empty when it passed. */
export function soakProblems(record: SoakRecord): string[] {
  const problems: string[] = [];
  if (record.leaked > 0) problems.push(`${record.leaked} leaks after a stop (mount, dm-crypt mapping, /run/luks-ssm entry or luks-ssm process left)`);
  if (record.writes.bad > 0) problems.push(`${record.writes.bad} writes lost or corrupted`);
  if (record.writes.checked !== record.writes.written) problems.push(`the final check saw ${record.writes.checked} writes, the cycles made ${record.writes.written}`);
  const inodes = new Set(record.perCycle.map((c) => c.cgroupInode));
  if (inodes.size !== record.cycles) problems.push(`the unit's cgroup was reused across cycles (${inodes.size} cgroups for ${record.cycles} cycles): a peak is not one start's`);
  if (record.peakMiB.maxLate > record.peakMiB.medianEarly * PEAK_GROWTH_MAX) {
    problems.push(`memory peak grew: ${record.peakMiB.maxLate} MiB in the last cycles against ${record.peakMiB.medianEarly} MiB early (limit ${PEAK_GROWTH_MAX}×)`);
  }
  return problems;
}
