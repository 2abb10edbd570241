// Mounts of the volume's device in other mount namespaces (a user's unshare -Urm), read from a fake /proc.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountsInOtherNamespaces, peerGroupsOf } from '../../src/mount/other-namespaces.ts';
import { parseMountinfo } from '../../src/mount/mountinfo.ts';

let proc: string;
beforeEach(() => {
  proc = mkdtempSync(join(tmpdir(), 'luks-ssm-proc-'));
});
afterEach(() => rmSync(proc, { recursive: true, force: true }));

/** /proc/<pid> in mount namespace `ns` with `mounts` ([major:minor, target, propagation tags]) in its table. */
function processIn(pid: string, ns: string, mounts: Array<[string, string, string?]>, comm = 'sleep'): void {
  const dir = join(proc, pid);
  mkdirSync(join(dir, 'ns'), { recursive: true });
  symlinkSync(`mnt:[${ns}]`, join(dir, 'ns', 'mnt'));
  const lines = ['22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw', ...mounts.map(([dev, target, tags], i) => `${40 + i} 22 ${dev} / ${target} rw,relatime ${tags ? `${tags} ` : ''}- ext4 /dev/mapper/data rw`)];
  writeFileSync(join(dir, 'mountinfo'), `${lines.join('\n')}\n`);
  writeFileSync(join(dir, 'comm'), `${comm}\n`);
  writeFileSync(join(dir, 'cmdline'), `${comm}\u000090\u0000`);
}

describe('mountsInOtherNamespaces', () => {
  it('names one process per other namespace that has the device mounted, and where; never our own namespace', async () => {
    processIn('self', '100', [['253:0', '/srv/data']]);
    processIn('1', '100', [['253:0', '/srv/data']], 'systemd');
    processIn('4000', '200', [['253:0', '/srv/data']]);
    processIn('4001', '200', [['253:0', '/srv/data']]);
    processIn('5000', '300', [['253:7', '/srv/other']]);
    processIn('6000', '400', [['253:0', '/home/eve/m']], 'bash');
    const found = await mountsInOtherNamespaces('253:0', { procRoot: proc, budgetMs: 5000, ourGroups: ['5'] });
    expect(found).toEqual({
      complete: true,
      holders: [
        { pid: 4000, command: 'sleep (sleep 90)', target: '/srv/data' },
        { pid: 6000, command: 'bash (bash 90)', target: '/home/eve/m' },
      ],
    });
  });

  it('leaves out copies our unmount reaches: a service namespace\'s slaves (master:5) and peers (shared:5) of our mount', async () => {
    processIn('self', '100', [['253:0', '/srv/data', 'shared:5']]);
    processIn('700', '200', [['253:0', '/srv/data', 'master:5']], 'systemd-logind');
    processIn('701', '210', [['253:0', '/srv/data', 'shared:5']]);
    processIn('702', '220', [['253:0', '/srv/data', 'shared:999']], 'bash');
    processIn('703', '230', [['253:0', '/srv/data', 'master:6']], 'sh');
    const found = await mountsInOtherNamespaces('253:0', { procRoot: proc, budgetMs: 5000, ourGroups: ['5'] });
    expect(found.holders.map((h) => h.pid)).toEqual([702, 703]);
    expect(peerGroupsOf(parseMountinfo('40 22 253:0 / /srv/data rw shared:5 master:2 - ext4 /dev/mapper/data rw\n41 22 253:0 / /x rw - ext4 /dev/mapper/data rw\n'))).toEqual(['5']);
  });

  it('finds nothing where no other namespace has it, and says the answer is incomplete without our own namespace', async () => {
    processIn('self', '100', [['253:0', '/srv/data']]);
    processIn('5000', '300', [['253:7', '/srv/other']]);
    expect(await mountsInOtherNamespaces('253:0', { procRoot: proc, budgetMs: 5000, ourGroups: ['5'] })).toEqual({ holders: [], complete: true });
    rmSync(join(proc, 'self'), { recursive: true });
    expect(await mountsInOtherNamespaces('253:0', { procRoot: proc, budgetMs: 5000, ourGroups: ['5'] })).toEqual({ holders: [], complete: false });
  });
});
