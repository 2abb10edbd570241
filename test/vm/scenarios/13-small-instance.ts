// A small instance (#13): with 512 MiB, a volume `enroll --format` made unlocks at boot; a volume whose key slot is
// argon2id with 1 GiB (made on a big machine: here the host) gets check's and start's SLOT_TOO_COSTLY (86) naming
// both memories, with `luks-ssm rotate` as the fix; rotated where there is memory (1536 MiB), it unlocks at boot
// with 512 MiB. Opt-in (test/vm/README.md "Small instance"): `--memory 512 --only 01,13` (two boots of its own; a
// third when the run's boots are bigger).
import { randomBytes } from 'node:crypto';
import { createBlankDisk, createLuksExt4Disk } from '../lib/disk.ts';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

const SMALL_SERIAL = 'vol05a1100000000001a';
const COSTLY_SERIAL = 'vol0c057100000000002';
const COSTLY_PATH = '/luks-ssm-vm/costly';
/** What cryptsetup gives a slot formatted on a machine with 2 GiB or more: argon2id, 1 GiB, the fewest passes (4). */
const COSTLY_PBKDF = ['--pbkdf', 'argon2id', '--pbkdf-memory', '1048576', '--pbkdf-force-iterations', '4'];
/** The memory of the rotating boot: enough for the 1 GiB slot (the issue's ~1.5 GiB). */
const ROOMY_MB = 1536;
const SMALL_MB = 512;
/** One argon2id pass over 1 GiB takes ~15-60 s under TCG; rotate runs a few (the old key's survey, luksAddKey...). */
const ROTATE_TIMEOUT_MS = 20 * 60_000;

// The costly volume's passphrase: made with the disk, put in the emulator by run(); in this process's memory only.
let costlyKey: Buffer | undefined;

const script = (call: string) => guestScript('13-small-instance.sh', call);

/** The lines the guest printed after its `header` line, up to the next `== ` header. */
function section(stdout: string, header: string): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.startsWith(header));
  check(at !== -1, `no "${header}" in: ${stdout}`);
  const end = lines.findIndex((line, i) => i > at && line.startsWith('== '));
  return lines.slice(at + 1, end === -1 ? undefined : end).join('\n');
}

export const smallInstance: Scenario = {
  name: '13-small-instance',
  needsProduct: true,
  hostDisks: [
    { serial: SMALL_SERIAL, make: async (path) => createBlankDisk(path, 64) },
    {
      serial: COSTLY_SERIAL,
      async make(path) {
        costlyKey = Buffer.from(randomBytes(48).toString('base64'));
        await createLuksExt4Disk(path, 64, costlyKey, 'costly', COSTLY_PBKDF);
      },
    },
  ],
  async run(ctx) {
    check(costlyKey !== undefined, 'the costly disk was not made on the host');
    await ctx.ensureBooted();
    // Run with --memory 512 the first boot already is the small instance; otherwise this costs one more boot.
    if (ctx.vm.memoryMb() > SMALL_MB) expectSuccess(await ctx.vm.reboot(script('wait_booted 150'), { memoryMb: SMALL_MB }), `boot at ${SMALL_MB} MiB`);
    ctx.emulator().putParameter(COSTLY_PATH, costlyKey.toString('utf8'), { type: 'SecureString' });

    const first = expectSuccess(await ctx.vm.run(`enroll, check and start at ${SMALL_MB} MiB`, script(`at_512 ${SMALL_SERIAL} ${COSTLY_SERIAL}`), 600_000), `at ${SMALL_MB} MiB`);
    ctx.progress(first.stdout.split('\n').find((l) => l.startsWith('memtotal_kib=')) ?? 'no memtotal line');
    const checkOut = section(first.stdout, '== check costly');
    const startOut = section(first.stdout, '== start costly');
    check(/FAIL .*1024 MiB.*this instance has \d+ MiB/.test(checkOut), `check named no slot and instance memory: ${checkOut}`);
    check(/fix: run luks-ssm rotate costly/.test(checkOut), `check gave no rotate fix: ${checkOut}`);
    const errorLines = startOut.split('\n').filter((l) => l.startsWith('luks-ssm'));
    check(errorLines.length === 1, `start printed ${errorLines.length} error lines: ${startOut}`);
    check(/needs 1024 MiB of memory \(argon2id\), this instance has \d+ MiB .*luks-ssm rotate costly/.test(errorLines[0] as string), `start's line names no memory or fix: ${errorLines[0]}`);
    for (const line of [...checkOut.split('\n').filter((l) => /FAIL|fix:/.test(l)), errorLines[0] as string]) ctx.progress(line.trim());

    expectSuccess(await ctx.vm.reboot(script('wait_booted 150; si_expect_up small'), { memoryMb: ROOMY_MB }), `boot at ${ROOMY_MB} MiB`);
    const rotated = expectSuccess(await ctx.vm.run(`rotate at ${ROOMY_MB} MiB`, script(`rotate_costly ${COSTLY_SERIAL}`), ROTATE_TIMEOUT_MS), 'rotate');
    check(rotated.stdout.includes('removed key slot 0 (version 1)'), `rotate removed no old slot: ${rotated.stdout}`);

    const last = expectSuccess(await ctx.vm.reboot(script('both_up_at_512'), { memoryMb: SMALL_MB }), `boot at ${SMALL_MB} MiB after rotate`);
    for (const line of last.stdout.split('\n').filter((l) => /^memtotal_kib=|^luks-ssm@.* active at|key slot/.test(l))) ctx.progress(line.trim());
  },
};
