// SELinux facts that decide whether luks-ssm can run at all (#11 item 6): Node's JIT needs execmem, which the
// deny_execmem boolean takes away from unconfined_service_t (the service, the generator) and user domains alike.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** selinuxfs; tests pass their own. */
export const SELINUX_ROOT = '/sys/fs/selinux';

/** True when SELinux is enabled (selinuxfs mounted), enforcing or permissive. */
export async function selinuxEnabled(root = SELINUX_ROOT): Promise<boolean> {
  return access(join(root, 'enforce')).then(() => true, () => false);
}

/** deny_execmem's current value ("1 0": current, then pending); undefined without SELinux or that boolean. */
export async function denyExecmem(root = SELINUX_ROOT): Promise<boolean | undefined> {
  const text = await readFile(join(root, 'booleans', 'deny_execmem'), 'utf8').catch(() => undefined);
  const current = text?.trim().split(/\s+/)[0];
  return current === undefined || current === '' ? undefined : current === '1';
}
