// check reports what the key's slot costs and fails or warns on memory; start stops with one line on cryptsetup's
// out-of-memory exit; an interrupted rotation is a warning, not ok. On a fake system with a fake /proc/meminfo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isUnlockError } from '../../src/errors.ts';
import { checkVolume, formatCheckReport } from '../../src/volume/check.ts';
import { startVolume } from '../../src/volume/start.ts';
import { ARGON2_1GIB_SLOT, createFakeSystem, fakeConfig, fakeDeps, keysSource, type FakeSystem } from '../support/fake-system.ts';

const KEY = Buffer.from('s3cret value\n');
let sys: FakeSystem;
afterEach(() => sys?.cleanup());

/** A /proc with only meminfo: MemTotal and MemAvailable in MiB. */
function fakeProc(totalMib: number, availableMib: number): string {
  const proc = join(sys.dir, 'proc');
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, 'meminfo'), `MemTotal:       ${totalMib * 1024} kB\nMemFree:         1000 kB\nMemAvailable:   ${availableMib * 1024} kB\n`);
  return proc;
}

function stepOf(report: Awaited<ReturnType<typeof checkVolume>>, name: string) {
  return report.steps.find((s) => s.name === name);
}

describe('check: the keyslot step', () => {
  it('a minimal slot: ok, with its KDF, the time test-passphrase took and the instance\'s memory', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(1024, 900) });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(formatCheckReport(report)).toMatch(
      /^ok {4}keyslot +key slot 0: pbkdf2-sha512, 1000 iterations; test-passphrase took \d+\.\d\d s; this instance has 1024 MiB \(900 MiB available now\)$/m,
    );
  });

  it('a 1 GiB argon2id slot on a 1.5 GiB instance: a warning (over half of MemTotal) naming rotate, exit 0', async () => {
    sys = createFakeSystem(KEY);
    sys.keyslots = ARGON2_1GIB_SLOT;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(1536, 1200) });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(stepOf(report, 'keyslot')).toMatchObject({ ok: true, warn: true });
    const text = formatCheckReport(report);
    expect(text).toContain('warn  keyslot  key slot 0: argon2id, 1024 MiB memory, time cost 4, 4 threads; test-passphrase took');
    expect(text).toContain('this instance has 1536 MiB (1200 MiB available now): the slot needs more than half of it');
    expect(text).toContain('fix: run luks-ssm rotate data: the new key slot is PBKDF2');
  });

  it('a slot that needs more than MemTotal: FAIL, exit 86, rotate on a larger instance as the fix', async () => {
    sys = createFakeSystem(KEY);
    sys.keyslots = ARGON2_1GIB_SLOT;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(512, 400) });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure?.exitCode).toBe(86);
    expect(formatCheckReport(report)).toContain('FAIL  keyslot  key slot 0: argon2id, 1024 MiB memory');
    expect(formatCheckReport(report)).toContain('fix: run luks-ssm rotate data on an instance with more memory');
  });

  it('cryptsetup out of memory while testing the key: FAIL key, exit 86, naming both figures', async () => {
    sys = createFakeSystem(KEY);
    sys.keyslots = ARGON2_1GIB_SLOT;
    sys.outOfMemory = true;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(481, 350) });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure?.exitCode).toBe(86);
    expect(stepOf(report, 'key')?.detail).toBe(`Failed to test a key on ${sys.device}: key slot 0 needs 1024 MiB of memory (argon2id), this instance has 481 MiB (350 MiB available now)`);
  });
});

describe('check: an interrupted rotation', () => {
  it('the current version opens nothing but an earlier one does: a warning line, not ok, and exit 0', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: Buffer.from('version 3 key'), version: 3 }, { bytes: KEY, version: 2 }]));
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(stepOf(report, 'key')).toMatchObject({ ok: true, warn: true });
    const text = formatCheckReport(report);
    expect(text).toMatch(/^warn {2}key +ssm:\/test\/key version 3 \(us-east-1\): 13 bytes, opens no keyslot of .*, but the earlier ssm:\/test\/key version 2 \(us-east-1\): 13 bytes does: an interrupted rotation/m);
    expect(text).toContain('fix: run luks-ssm rotate data to finish it');
    expect(text).not.toMatch(/^ok {4}key {6}/m);
  });
});

describe('start: cryptsetup out of memory', () => {
  it('one line naming the slot\'s memory and the instance\'s, exit 86, not retryable, one open attempt', async () => {
    sys = createFakeSystem(KEY);
    sys.keyslots = ARGON2_1GIB_SLOT;
    sys.outOfMemory = true;
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }, { bytes: KEY, version: 1 }]), { procRoot: fakeProc(481, 350) });
    const error = await startVolume(deps, fakeConfig(sys)).catch((e: unknown) => e);
    expect(isUnlockError(error) && { kind: error.kind, code: error.exitCode, retryable: error.retryable, message: error.message, hint: error.hint }).toEqual({
      kind: 'SLOT_TOO_COSTLY', code: 86, retryable: false,
      message: `Failed to open ${sys.device}: key slot 0 needs 1024 MiB of memory (argon2id), this instance has 481 MiB (350 MiB available now)`,
      hint: 'run luks-ssm rotate data on an instance with more memory: the new key slot is PBKDF2 with 1000 iterations (~8 MiB, milliseconds)',
    });
    expect(sys.calls.filter((c) => c.file === 'cryptsetup' && c.args[0] === 'open')).toHaveLength(1);
  });
});

describe('check: SELinux deny_execmem (#11 item 6)', () => {
  /** A selinuxfs with `enforce` and the deny_execmem boolean ("current pending"). */
  function fakeSelinux(value: string): string {
    const root = join(sys.dir, 'selinux');
    mkdirSync(join(root, 'booleans'), { recursive: true });
    writeFileSync(join(root, 'enforce'), '1');
    writeFileSync(join(root, 'booleans', 'deny_execmem'), value);
    return root;
  }

  it('on: a warning naming what fails and the setsebool that fixes it, exit 0', async () => {
    sys = createFakeSystem(KEY);
    const { deps } = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(1024, 900), selinuxRoot: fakeSelinux('1 1') });
    const report = await checkVolume(deps, fakeConfig(sys));
    expect(report.failure).toBeUndefined();
    expect(formatCheckReport(report)).toContain(
      "warn  selinux  deny_execmem is on: Node's JIT needs execmem, so luks-ssm@.service and the generator (unconfined_service_t) fail at boot\n      fix: setsebool -P deny_execmem off\n",
    );
  });

  it('off: ok; no SELinux: no step at all', async () => {
    sys = createFakeSystem(KEY);
    const off = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(1024, 900), selinuxRoot: fakeSelinux('0 0') });
    expect(formatCheckReport(await checkVolume(off.deps, fakeConfig(sys)))).toContain("ok    selinux  deny_execmem is off (Node's JIT needs execmem)\n");
    const none = fakeDeps(sys, keysSource([{ bytes: KEY, version: 2 }]), { procRoot: fakeProc(1024, 900), selinuxRoot: join(sys.dir, 'no-selinux') });
    expect((await checkVolume(none.deps, fakeConfig(sys))).steps.map((s) => s.name)).not.toContain('selinux');
  });
});
