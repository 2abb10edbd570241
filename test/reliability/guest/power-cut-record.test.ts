// The power-cut rows: the guest's lines at the cut and in the boot after it, matched per volume, and judged.
import { describe, expect, it } from 'vitest';
import { parsePowerCut, powerCutProblems } from './power-cut-record.ts';

const cut = [
  'cut verb=rotate step=add-key volume=pcssm source=ssm stopped=yes keyslots=3 tokens=0',
  'cut verb=rotate step=add-key volume=pckms source=kms stopped=no exit=0 keyslots=2',
  '  {"level":30,"msg":"…"}',
].join('\n');

describe('power-cut record', () => {
  it('matches each cut with the boot after it', () => {
    const after = [
      'after verb=rotate step=add-key volume=pckms source=kms boot=yes rerun_exit=0 keyslots=2 opens_after=yes',
      'after verb=rotate step=add-key volume=pcssm source=ssm boot=yes rerun_exit=0 keyslots=2 opens_after=yes',
    ].join('\n');
    const rows = parsePowerCut(cut, after);
    expect(rows).toEqual([
      { verb: 'rotate', step: 'add-key', source: 'ssm', stoppedAfterStep: true, keyslotsAtCut: 3, opened: 'at boot', rerunExit: 0, opensAfterRerun: true },
      { verb: 'rotate', step: 'add-key', source: 'kms', stoppedAfterStep: false, keyslotsAtCut: 2, opened: 'at boot', rerunExit: 0, opensAfterRerun: true },
    ]);
    expect(powerCutProblems(rows)).toEqual(['rotate cut after add-key (kms): the run never reached the step (finished first)']);
  });

  it('reports a volume that did not open, a failed second run, and a boot that printed nothing', () => {
    const after = [
      'after verb=rotate step=add-key volume=pcssm source=ssm boot=no(failed) rerun_exit=75 keyslots=3 opens_after=no',
      'after verb=enroll step=store volume=pckms source=kms existing=yes rerun_exit=0 keyslots=2 opens_after=yes',
    ].join('\n');
    const rows = parsePowerCut(cut, after);
    expect(rows[0]).toMatchObject({ opened: 'no', rerunExit: 75, opensAfterRerun: false });
    expect(rows[1]).toMatchObject({ opened: 'no', rerunExit: -1, opensAfterRerun: false });
    expect(powerCutProblems([rows[0]!])).toEqual([
      'rotate cut after add-key (ssm): the volume did not open in the boot after the cut',
      'rotate cut after add-key (ssm): the second run exited 75',
      "rotate cut after add-key (ssm): the volume did not open with luks-ssm's key after the second run",
    ]);
    expect(parsePowerCut('cut verb=enroll step=store volume=pcssm source=ssm stopped=yes keyslots=1', after.split('\n')[1]!.replace('pckms', 'pcssm'))[0])
      .toMatchObject({ opened: 'existing key', rerunExit: 0, opensAfterRerun: true });
  });
});
