// Where a new recovery key is shown, once: the terminal, or a file made for it (0600, never an existing file).
import { constants, unlinkSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { UnlockError } from '../errors.ts';
import { onEndingBySignal } from '../exec/children.ts';
import type { Secret } from '../secret/secret.ts';

export interface RecoveryOutput {
  /** "shown on the terminal", "written to /root/recovery.txt": for the report. */
  readonly done: string;
  /** Shows or writes the key with the lines around it; the key bytes go straight from the Secret. */
  write(secret: Secret, about: { volume: string; device: string; slot: number }): Promise<void>;
  /** Always call at the end: when no key was written (a failure before it), a file made for it is removed again. */
  abandon(): Promise<void>;
}

/**
 * Opened before the device is touched, so a refusal (no terminal, file exists) changes nothing. A pipe or a
 * log collector on stdout would keep the key: without --output the key is shown only to a terminal.
 */
export async function openRecoveryOutput(opts: { file: string | undefined; stdoutIsTty: boolean; stdout: (bytes: Buffer | string) => void }): Promise<RecoveryOutput> {
  if (opts.file === undefined) {
    if (!opts.stdoutIsTty) {
      throw new UnlockError('USAGE', 'A recovery key is shown only on a terminal and stdout is not one, refusing', {
        hint: 'run it in a terminal, or pass --output FILE (created with mode 0600; it must not exist)',
      });
    }
    return {
      done: 'shown on the terminal',
      async write(secret, about) {
        opts.stdout(`A recovery key for volume ${about.volume} (${about.device}) is in key slot ${about.slot}:\n\n    `);
        opts.stdout(secret.bytes());
        opts.stdout(`\n\nIt is shown this once and stored nowhere by luks-ssm. Keep it away from this instance (a password\n`
          + `manager, a safe). It can be typed wherever the volume's passphrase is asked for (luks-ssm(8), recovery-key).\n`);
      },
      abandon: async () => {},
    };
  }
  const file = opts.file;
  let handle: FileHandle;
  try {
    // O_EXCL: never overwrite (or follow a symlink planted at) the path; O_NOFOLLOW for the same reason.
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UnlockError(code === 'EACCES' ? 'PERMISSION' : 'USAGE', `Failed to create --output ${file}: ${code === 'EEXIST' ? 'it exists (never overwritten)' : code}, refusing`);
  }
  let written = false;
  // A signal (Ctrl-C at the question for the existing key) ends the process without abandon(): the empty file would
  // then refuse the next run ("it exists").
  const keepOnSignal = onEndingBySignal(() => {
    if (!written) unlinkSync(file);
  });
  await handle.chmod(0o600);
  return {
    done: `written to ${file}`,
    async write(secret) {
      try {
        await handle.write(secret.bytes());
        await handle.write('\n');
        await handle.sync();
        written = true;
      } finally {
        await handle.close();
      }
    },
    async abandon() {
      keepOnSignal();
      if (written) return;
      await handle.close().catch(() => {});
      await unlink(file).catch(() => {});
    },
  };
}
