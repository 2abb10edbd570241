// /etc/crypttab as systemd-cryptsetup-generator reads it (crypttab(5)): a line there for a luks-ssm disk makes
// systemd open it first at boot (or ask for its passphrase on the console), and start then refuses the disk.
import { readFile } from 'node:fs/promises';

export const CRYPTTAB_PATH = '/etc/crypttab';

export interface CrypttabEntry {
  /** 1-based line number, for messages. */
  line: number;
  /** The mapping name systemd gives it. */
  name: string;
  /** The encrypted device as written: a path, UUID=, PARTUUID=, LABEL=… */
  device: string;
  /** `noauto`: not opened at boot, only when asked for. */
  noauto: boolean;
}

/** The entries of `path`: none when it is missing or unreadable (check reports what it can, and this is advice). */
export async function readCrypttab(path: string = CRYPTTAB_PATH): Promise<CrypttabEntry[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').flatMap((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    const [name, device, , options] = fields;
    if (name === undefined || device === undefined || name === '' || name.startsWith('#')) return [];
    return [{ line: index + 1, name, device, noauto: (options ?? '').split(',').includes('noauto') }];
  });
}
