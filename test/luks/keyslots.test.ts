// Fake cryptsetup on PATH records argv and stdin: lifecycle verbs put keys on stdin only, never in argv or env.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { formatLuks2 } from '../../src/luks/format.ts';
import { addKey, killSlot, slotOpenedBy } from '../../src/luks/keyslots.ts';
import { Secret } from '../../src/secret/secret.ts';
import { createFakePrograms, type FakePrograms } from '../exec/fake-programs.ts';

const OLD = 'old-passphrase-3f9a';
const NEW = 'new-passphrase-7c21';
let fakes: FakePrograms;
beforeEach(async () => {
  fakes = await createFakePrograms(['cryptsetup']);
});
afterEach(async () => {
  await fakes.cleanup();
});

const secret = (text: string): Secret => Secret.copyOf(Buffer.from(text));

function expectNoKeyOutsideStdin(call: { argv: string[]; env: string }): void {
  for (const text of [OLD, NEW]) {
    expect(call.argv.join(' ')).not.toContain(text);
    expect(call.env).not.toContain(text);
  }
}

describe('keys reach cryptsetup on stdin only', () => {
  it('addKey: the existing key then the new key, sizes in argv', async () => {
    await addKey(createRunner({ path: fakes.path }), '/dev/xvdf', secret(OLD), secret(NEW), { type: 'pbkdf2', forceIterations: 1000 });
    const [call] = await fakes.calls('cryptsetup');
    expect(call!.stdin.toString()).toBe(OLD + NEW);
    expect(call!.argv).toEqual([
      'luksAddKey', '--batch-mode', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000',
      '--key-file=-', `--keyfile-size=${OLD.length}`, `--new-keyfile-size=${NEW.length}`, '--', '/dev/xvdf', '-',
    ]);
    expectNoKeyOutsideStdin(call!);
  });

  it('killSlot, slotOpenedBy and formatLuks2', async () => {
    await fakes.script('cryptsetup', { verb: 'open', stdout: 'Key slot 4 unlocked.\nCommand successful.\n' });
    const run = createRunner({ path: fakes.path });
    await killSlot(run, '/dev/xvdf', 0, secret(NEW));
    expect(await slotOpenedBy(run, '/dev/xvdf', secret(OLD))).toBe(4);
    await formatLuks2(run, '/dev/xvdf', secret(NEW), { uuid: '6f1e7a52-1d2b-4c47-9a0c-3b0b6f5f2b11' });
    const calls = await fakes.calls('cryptsetup');
    expect(calls.map((c) => c.stdin.toString())).toEqual([NEW, OLD, NEW]);
    expect(calls[0]!.argv).toEqual(['luksKillSlot', '--key-file=-', '--', '/dev/xvdf', '0']);
    expect(calls[2]!.argv).toEqual(['luksFormat', '--batch-mode', '--type', 'luks2', '--uuid', '6f1e7a52-1d2b-4c47-9a0c-3b0b6f5f2b11', '--key-file=-', '--', '/dev/xvdf']);
    for (const call of calls) expectNoKeyOutsideStdin(call);
  });

  it('addKey wipes only its own stdin copy: the caller still owns its secrets', async () => {
    const existing = secret(OLD);
    await addKey(createRunner({ path: fakes.path }), '/dev/xvdf', existing, secret(NEW));
    expect(existing.bytes().toString()).toBe(OLD);
  });
});
