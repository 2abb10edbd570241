// The walk to a mount point refuses to look into a FUSE filesystem a user serves (review 9: it could stall root).
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UserFuseMounts, walkDirectory } from '../../src/mount/dir-fd.ts';
import { MOUNTINFO_PATH } from '../../src/mount/mountinfo.ts';
import { UnlockError } from '../../src/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A real directory tree and a mountinfo that says `fuseAt` is a FUSE mount with `superOptions`. */
function scene(superOptions: string, fsType = 'fuse.sshfs') {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'luks-ssm-walk-')));
  dirs.push(root);
  const fuseAt = join(root, 'app');
  mkdirSync(join(fuseAt, 'data'), { recursive: true });
  const mountinfo = join(root, 'mountinfo');
  writeFileSync(mountinfo, [
    '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
    `90 22 0:77 / ${fuseAt} rw,nosuid,nodev shared:50 - ${fsType} stall ${superOptions}`,
    '',
  ].join('\n'));
  return { fuseAt, target: join(fuseAt, 'data'), mountinfo };
}

describe('walkDirectory and FUSE mounts on the way', () => {
  it.for([
    ['a directory inside it', 'fuse.sshfs', (s: ReturnType<typeof scene>) => s.target],
    ['the mount itself', 'fuse', (s: ReturnType<typeof scene>) => s.fuseAt],
    ['a fuseblk mount', 'fuseblk', (s: ReturnType<typeof scene>) => s.target],
  ] as const)('refuses %s when a user serves it, before looking anything up (MOUNT_REFUSED, 82)', ([, fsType, pathOf]) => {
    const s = scene('rw,user_id=1000,group_id=1000,allow_other', fsType);
    const error = (() => {
      try {
        walkDirectory(pathOf(s), undefined, s.mountinfo).close();
      } catch (e) {
        return e;
      }
      return undefined;
    })() as UnlockError;
    expect(error).toBeInstanceOf(UnlockError);
    expect([error.exitCode, error.message]).toEqual([
      82,
      `${s.fuseAt} (on the way to ${pathOf(s)}) is a FUSE filesystem served by uid 1000, refusing to look into it: its server could stall luks-ssm`,
    ]);
  });

  it('walks through one root serves, and past a user\'s FUSE mount elsewhere', () => {
    const s = scene('rw,user_id=0,group_id=0,allow_other');
    expect(() => walkDirectory(s.target, undefined, s.mountinfo).close()).not.toThrow();
    const beside = scene('rw,user_id=1000,group_id=1000');
    const elsewhere = join(beside.fuseAt, '..', 'other');
    mkdirSync(elsewhere);
    // A sibling whose name starts like the FUSE mount's is not under it.
    mkdirSync(`${beside.fuseAt}x`);
    expect(() => walkDirectory(elsewhere, undefined, beside.mountinfo).close()).not.toThrow();
    expect(() => walkDirectory(`${beside.fuseAt}x`, undefined, beside.mountinfo).close()).not.toThrow();
  });
});

describe('UserFuseMounts on the kernel table (mount ids decide)', () => {
  const line = (id: number, target: string, fsType: string, superOptions: string) =>
    `${id} 22 0:${id} / ${target} rw,relatime shared:${id} - ${fsType} src${id} ${superOptions}`;
  const root = line(22, '/', 'ext4', 'rw');

  it('reads the table for each handle: an id freed and taken by a user FUSE since the last read is judged as the FUSE', () => {
    const tables = [
      [root, line(40, '/srv', 'ext4', 'rw')].join('\n'),
      [root, line(40, '/home/eve/m', 'fuse.sshfs', 'rw,user_id=1000,group_id=1000')].join('\n'),
    ];
    let reads = 0;
    const mounts = new UserFuseMounts(MOUNTINFO_PATH, () => tables[Math.min(reads++, tables.length - 1)] as string);
    expect(() => mounts.refuseAt(40, '/srv', '/srv/data')).not.toThrow();
    expect(() => mounts.refuseAt(40, '/srv/data', '/srv/data')).toThrow(/\/home\/eve\/m \(on the way to \/srv\/data\) is a FUSE filesystem served by uid 1000/);
    expect(reads).toBe(2);
  });

  it('refuses a mount id the table does not list, and lets root\'s FUSE and other filesystems pass', () => {
    const table = [root, line(41, '/mnt/r', 'fuse.s3fs', 'rw,user_id=0,group_id=0')].join('\n');
    const mounts = new UserFuseMounts(MOUNTINFO_PATH, () => table);
    expect(() => mounts.refuseAt(22, '/srv', '/srv/data')).not.toThrow();
    expect(() => mounts.refuseAt(41, '/mnt/r', '/mnt/r/data')).not.toThrow();
    expect(() => mounts.refuseAt(99, '/srv', '/srv/data')).toThrow(/is on mount 99, which \/proc\/self\/mountinfo does not list/);
  });
});
