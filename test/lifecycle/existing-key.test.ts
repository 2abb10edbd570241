// enroll --add-to-existing's existing passphrase: a file or a pipe byte for byte, a terminal through the password
// agent (faked here; the real program in test/systemd/ask-password.test.ts), and a refusal when there is neither.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readExistingKey, type ExistingKeyInput } from '../../src/lifecycle/existing-key.ts';
import { Secret } from '../../src/secret/secret.ts';
import type { AskOptions, AskResult } from '../../src/systemd/ask-password.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'luks-ssm-existing-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An askPassword that records each question and gives `answer`. */
function fakeAsk(answer: () => AskResult) {
  const asked: AskOptions[] = [];
  return { asked, askPassword: async (opts: AskOptions) => (asked.push(opts), answer()) };
}

const base = (over: Partial<ExistingKeyInput>): ExistingKeyInput => ({ file: undefined, volume: 'data', device: '/dev/nvme1n1', timeoutSec: 90, ...over });
const terminal = async () => undefined;
const text = (secret: Secret) => secret.bytes().toString();
const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('readExistingKey', () => {
  it('a pipe: the bytes as given, the trailing newline kept; nobody is asked', async () => {
    const ask = fakeAsk(() => ({ none: 'not to be asked' }));
    const key = await readExistingKey(base({ readStdin: async () => Buffer.from('old secret\n'), askPassword: ask.askPassword }));
    expect(text(key)).toBe('old secret\n');
    expect(ask.asked).toEqual([]);
  });

  it('--existing-key-file: the bytes as given, even with stdin a terminal; nobody is asked', async () => {
    const file = join(dir, 'old.key');
    await writeFile(file, 'old secret\n', { mode: 0o600 });
    const ask = fakeAsk(() => ({ none: 'not to be asked' }));
    expect(text(await readExistingKey(base({ file, readStdin: terminal, askPassword: ask.askPassword })))).toBe('old secret\n');
    expect(ask.asked).toEqual([]);
    await writeFile(file, '');
    await expect(readExistingKey(base({ file }))).rejects.toMatchObject({ kind: 'USAGE', message: `--existing-key-file ${file} is empty or larger than 16 MiB, refusing` });
    await chmod(file, 0);
    if (process.getuid?.() !== 0) await expect(readExistingKey(base({ file }))).rejects.toMatchObject({ kind: 'PERMISSION' });
  });

  it('a terminal: asked through the password agent, with its own id, the bound and the volume in the question', async () => {
    const ask = fakeAsk(() => ({ key: Secret.copyOf(Buffer.from('typed secret')) }));
    const key = await readExistingKey(base({ timeoutSec: 42, readStdin: terminal, askPassword: ask.askPassword }));
    expect(text(key)).toBe('typed secret');
    expect(ask.asked).toEqual([{ id: 'luks-ssm-enroll:data', timeoutSec: 42, message: 'Existing passphrase of data (/dev/nvme1n1), to authorise adding the luks-ssm key:' }]);
  });

  it('a terminal, nothing typed: one line, 75 when the question timed out, 2 when it was cancelled', async () => {
    const timedOut = fakeAsk(() => ({ none: 'Timed out' }));
    expect(await failureOf(readExistingKey(base({ readStdin: terminal, askPassword: timedOut.askPassword })))).toMatchObject({
      kind: 'TIMEOUT', message: 'No existing passphrase was typed for data (Timed out), refusing',
    });
    const cancelled = fakeAsk(() => ({ none: 'Password query was cancelled.' }));
    expect(await failureOf(readExistingKey(base({ readStdin: terminal, askPassword: cancelled.askPassword })))).toMatchObject({ kind: 'USAGE' });
  });

  it('a terminal with nothing to ask through is refused, as before', async () => {
    await expect(readExistingKey(base({ readStdin: terminal }))).rejects.toMatchObject({
      kind: 'USAGE', message: '--add-to-existing cannot ask for the existing passphrase here (stdin is a terminal), refusing',
    });
  });

  it('neither a terminal nor a pipe (stdin /dev/null, as under systemd): refused in one line, nobody is asked', async () => {
    const ask = fakeAsk(() => ({ none: 'not to be asked' }));
    const error = await failureOf(readExistingKey(base({ readStdin: async () => Buffer.alloc(0), askPassword: ask.askPassword })));
    expect(error).toMatchObject({ kind: 'USAGE', message: '--add-to-existing needs the existing passphrase, but stdin is not a terminal and gave none, refusing' });
    expect(ask.asked).toEqual([]);
  });
});
