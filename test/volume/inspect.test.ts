// Whether a mount is this volume's mapping: told by device number, since any user can name a FUSE mount's source.
import { describe, expect, it } from 'vitest';
import { isMapping } from '../../src/volume/inspect.ts';
import type { MountEntry } from '../../src/mount/mountinfo.ts';

const entry = (majorMinor: string, source: string, fsType: string): MountEntry =>
  ({ mountId: 90, parentId: 1, majorMinor, source, target: '/srv/data', fsType, options: 'rw', superOptions: 'rw', propagation: [] });
const dm3 = async (path: string) => (path === '/dev/mapper/data' ? '253:3' : undefined);

describe('isMapping', () => {
  it('refuses a FUSE mount whose fsname is the mapper path (fusermount -o fsname=/dev/mapper/data)', async () => {
    expect(await isMapping(entry('0:55', '/dev/mapper/data', 'fuse.sshfs'), 'data', dm3)).toBe(false);
  });

  it('accepts the mapping\'s own device, whatever name mountinfo gives it', async () => {
    expect(await isMapping(entry('253:3', '/dev/dm-3', 'ext4'), 'data', dm3)).toBe(true);
  });

  it('falls back to the source name when the mapper node cannot be stat\'ed', async () => {
    expect(await isMapping(entry('0:1', '/dev/mapper/data', 'ext4'), 'data', async () => undefined)).toBe(true);
  });
});
