// The passphrase that authorises `enroll --add-to-existing`: from --existing-key-file, a pipe on stdin, or typed at a
// terminal through systemd-ask-password (as start asks for a typed key), never read from the terminal by us.
import { readFile } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { UnlockError } from '../errors.ts';
import { Secret, SECRET_MAX_BYTES } from '../secret/secret.ts';
import type { AskPassword } from '../systemd/ask-password.ts';

export interface ExistingKeyInput {
  /** --existing-key-file */
  file: string | undefined;
  volume: string;
  /** LUKS_DEVICE as configured, named in the question. */
  device: string;
  /** How long the question stays open (TIMEOUT_SEC). */
  timeoutSec: number;
  /** All of stdin as bytes; undefined when stdin is a terminal (a typed key would echo). */
  readStdin?: () => Promise<Buffer | undefined>;
  /** Absent: a terminal is refused, as when nothing can ask. */
  askPassword?: AskPassword | undefined;
}

/** systemd-ask-password's --id= for this question; not start's `luks-ssm:<volume>`, which an agent may also show. */
export function enrollAskIdOf(volume: string): string {
  return `luks-ssm-enroll:${volume}`;
}

/**
 * The key bytes exactly as given (no newline stripping: `--key-file` semantics, like cryptsetup's). Typed at a
 * terminal, the Enter that ends the answer is not part of it (systemd-ask-password drops it).
 */
export async function readExistingKey(input: ExistingKeyInput): Promise<Secret> {
  if (input.file !== undefined) return checkedSize(await readKeyFile(input.file), `--existing-key-file ${input.file}`);
  const piped = await (input.readStdin ?? readProcessStdin)();
  if (piped === undefined) return askAtTerminal(input);
  if (piped.length === 0) {
    throw new UnlockError('USAGE', '--add-to-existing needs the existing passphrase, but stdin is not a terminal and gave none, refusing', {
      hint: "run it at a terminal to be asked, pipe it in (printf '%s' …), or pass --existing-key-file FILE",
    });
  }
  return checkedSize(piped, 'The existing passphrase on stdin');
}

async function askAtTerminal(input: ExistingKeyInput): Promise<Secret> {
  if (input.askPassword === undefined) {
    throw new UnlockError('USAGE', '--add-to-existing cannot ask for the existing passphrase here (stdin is a terminal), refusing', {
      hint: 'pipe it in, or pass --existing-key-file FILE',
    });
  }
  const answer = await input.askPassword({
    id: enrollAskIdOf(input.volume),
    message: `Existing passphrase of ${input.volume} (${input.device}), to authorise adding the luks-ssm key:`,
    timeoutSec: input.timeoutSec,
  });
  if ('key' in answer) return answer.key;
  throw new UnlockError(/timed out/i.test(answer.none) ? 'TIMEOUT' : 'USAGE', `No existing passphrase was typed for ${input.volume} (${answer.none}), refusing`, {
    hint: 'type it when asked, pipe it in, or pass --existing-key-file FILE',
  });
}

async function readKeyFile(file: string): Promise<Buffer> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UnlockError(error.code === 'EACCES' ? 'PERMISSION' : 'USAGE', `Failed to read --existing-key-file ${file}: ${error.code ?? 'error'}`);
  });
}

function checkedSize(bytes: Buffer, what: string): Secret {
  if (bytes.length === 0 || bytes.length > SECRET_MAX_BYTES) {
    bytes.fill(0);
    throw new UnlockError('USAGE', `${what} is empty or larger than 16 MiB, refusing`);
  }
  return Secret.adopt(bytes);
}

async function readProcessStdin(): Promise<Buffer | undefined> {
  // isatty(0), not process.stdin.isTTY: no tty stream is opened on the terminal systemd-ask-password is about to use.
  if (isatty(0)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > SECRET_MAX_BYTES) break;
  }
  const all = Buffer.concat(chunks);
  for (const chunk of chunks) chunk.fill(0);
  return all;
}
