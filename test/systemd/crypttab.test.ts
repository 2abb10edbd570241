// /etc/crypttab as systemd reads it: name, device, key, options; comments and blank lines skipped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCrypttab } from '../../src/systemd/crypttab.ts';

let dir: string | undefined;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

function crypttab(text: string): string {
  dir = mkdtempSync(join(tmpdir(), 'luks-ssm-crypttab-'));
  writeFileSync(join(dir, 'crypttab'), text);
  return join(dir, 'crypttab');
}

describe('readCrypttab', () => {
  it('gives each line\'s number, name and device, and whether it is noauto', async () => {
    const path = crypttab('# <target name> <source device> <key file> <options>\n\nhome UUID=1234-abcd none luks,discard\n  \tdata\t/dev/nvme1n1  /root/key luks,noauto,nofail\nswap /dev/sdb2\n');
    expect(await readCrypttab(path)).toEqual([
      { line: 3, name: 'home', device: 'UUID=1234-abcd', noauto: false },
      { line: 4, name: 'data', device: '/dev/nvme1n1', noauto: true },
      { line: 5, name: 'swap', device: '/dev/sdb2', noauto: false },
    ]);
  });

  it('skips a line with a name only, and gives nothing for a missing file', async () => {
    expect(await readCrypttab(crypttab('lonely\n#home UUID=1 none\n'))).toEqual([]);
    expect(await readCrypttab(join(tmpdir(), 'luks-ssm-no-such-crypttab'))).toEqual([]);
  });
});
