// The passphrase is nowhere but memory: not in the journal, /run, /var/log, the share, or the guest's root disk.
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { countOccurrences, flattenImage, removeFile } from '../lib/disk.ts';
import { check, expectSuccess, guestScript, type Scenario } from '../lib/scenario.ts';

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesBelow(path);
    return entry.isFile() && !entry.name.endsWith('.deb') ? [path] : [];
  });
}

/** The forms a leak could take: the bytes themselves, hex, and base64 of the bytes. */
function leakForms(secret: Buffer): Buffer[] {
  return [secret, Buffer.from(secret.toString('hex')), Buffer.from(secret.toString('base64'))];
}

export const secretAbsent: Scenario = {
  name: '07-secret-absent',
  needsProduct: true,
  async run(ctx) {
    await ctx.ensureBooted();
    const canary = Buffer.from(`vm-canary-${randomBytes(12).toString('hex')}`);
    const script = `export CANARY=${canary.toString()}\n${guestScript('07-secret-absent.sh', 'dump_for_scan')}`;
    expectSuccess(await ctx.vm.run('dump journal, /run, /var/log', script, 120_000), 'dump');
    await ctx.vm.poweroff();

    const flat = join(ctx.workDir, 'root-flat.raw');
    await flattenImage(ctx.overlay, flat);
    try {
      const targets = [flat, join(ctx.workDir, 'data.raw'), ...filesBelow(ctx.workDir).filter((f) => f !== flat && !f.endsWith('.qcow2') && !f.endsWith('.raw'))];
      const hits = targets.flatMap((file) =>
        leakForms(ctx.passphrase).map((form, i) => ({ file, form: ['raw', 'hex', 'base64'][i], count: countOccurrences(file, form) })),
      ).filter((hit) => hit.count > 0);
      ctx.progress(`scanned ${targets.length} files (${(targets.reduce((n, f) => n + statSync(f).size, 0) / 2 ** 20).toFixed(0)} MiB) for the passphrase`);
      check(hits.length === 0, `passphrase found: ${hits.map((h) => `${h.file} (${h.form} x${h.count})`).join(', ')}`);
      check(countOccurrences(flat, canary) > 0, 'scan self-test: the canary written to the root disk was not found in the flattened image');
      check(countOccurrences(join(ctx.shareDir, 'scan', 'journal.export'), canary) > 0, 'scan self-test: canary missing from the exported journal');
    } finally {
      removeFile(flat);
    }
  },
};
