// Checks the host before a VM run, so a missing tool is one clear line instead of a spawn error mid-run.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Each program the harness runs on the host, and the Debian package that provides it. */
const HOST_TOOLS: Array<[program: string, debianPackage: string]> = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['qemu-img', 'qemu-utils'],
  ['mmdebstrap', 'mmdebstrap'],
  ['cryptsetup', 'cryptsetup-bin'],
  ['mke2fs', 'e2fsprogs'],
  ['mkfs.ext4', 'e2fsprogs'],
];

function onPath(program: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The problems found (empty when the host can run the VM tests). */
export function checkHost(path: string, uid: number): string[] {
  const problems = HOST_TOOLS.filter(([program]) => !onPath(program, path)).map(
    ([program, pkg]) => `${program} not found: apt-get install ${pkg}`,
  );
  // mmdebstrap builds the image in root mode and the cache lives in /var/cache.
  if (uid !== 0) problems.push('the VM tests run as root (image build with mmdebstrap, cache in /var/cache)');
  return problems;
}
