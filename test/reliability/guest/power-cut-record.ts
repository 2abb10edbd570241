// The power-cut record: one row per verb, step and key source, from the lines the guest prints
// (test/vm/scenarios/16-power-cut.sh) at the cut and in the boot after it.
/** Each verb's steps in order (src/lifecycle/enroll.ts and rotate.ts: the names step() logs). */
export const POWER_CUT_STEPS = {
  enroll: ['store', 'add-key', 'verify', 'bind'],
  rotate: ['generate', 'store', 'add-key', 'verify', 'bind', 'remove-old'],
} as const;

export interface PowerCutRow {
  verb: 'enroll' | 'rotate';
  step: string;
  source: string;
  /** The run was stopped right after the step (else it finished first, and the cut came after it). */
  stoppedAfterStep: boolean;
  keyslotsAtCut: number;
  /** How the volume opened in the boot after the cut: its unit at boot (rotate), the existing key (enroll). */
  opened: 'at boot' | 'existing key' | 'no';
  rerunExit: number;
  /** The second run's result opens it (the unit restarted with luks-ssm's key) with the data intact. */
  opensAfterRerun: boolean;
}

export interface PowerCutRecord {
  date: string;
  rows: PowerCutRow[];
}

function fields(line: string): Record<string, string> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

const key = (f: Record<string, string>) => `${f.verb} ${f.step} ${f.volume}`;

/** Rows from the cut's output and the following boot's, matched by verb, step and volume. */
export function parsePowerCut(cutOutput: string, afterOutput: string): PowerCutRow[] {
  const afters = new Map(afterOutput.split('\n').filter((l) => l.startsWith('after ')).map((l) => [key(fields(l)), fields(l)]));
  return cutOutput.split('\n').filter((l) => l.startsWith('cut ')).map((line): PowerCutRow => {
    const cut = fields(line);
    const after = afters.get(key(cut)) ?? {};
    return {
      verb: cut.verb as PowerCutRow['verb'], step: cut.step ?? '?', source: cut.source ?? '?',
      stoppedAfterStep: cut.stopped === 'yes', keyslotsAtCut: Number(cut.keyslots ?? -1),
      opened: after.boot === 'yes' ? 'at boot' : after.existing === 'yes' ? 'existing key' : 'no',
      rerunExit: after.rerun_exit === undefined ? -1 : Number(after.rerun_exit),
      opensAfterRerun: after.opens_after === 'yes',
    };
  });
}

/** What makes a row fail, one phrase each. */
export function powerCutProblems(rows: PowerCutRow[]): string[] {
  return rows.flatMap((r) => {
    const what = `${r.verb} cut after ${r.step} (${r.source})`;
    return [
      ...(r.stoppedAfterStep ? [] : [`${what}: the run never reached the step (finished first)`]),
      ...(r.opened === 'no' ? [`${what}: the volume did not open in the boot after the cut`] : []),
      ...(r.rerunExit === 0 ? [] : [`${what}: the second run exited ${r.rerunExit}`]),
      ...(r.opensAfterRerun ? [] : [`${what}: the volume did not open with luks-ssm's key after the second run`]),
    ];
  });
}
