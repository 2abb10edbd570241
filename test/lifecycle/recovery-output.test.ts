// The --output file of a recovery key when a signal ends the run: removed while nothing was written (review 12).
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endChildrenWithProcess, resetEndingForTests, type OwnProcess } from '../../src/exec/children.ts';
import { openRecoveryOutput } from '../../src/lifecycle/recovery-output.ts';
import { Secret } from '../../src/secret/secret.ts';

const dirs: string[] = [];
afterEach(() => {
  resetEndingForTests();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A process whose signals the test plays and whose end is only recorded. */
function fakeProcess(): OwnProcess & { emitter: EventEmitter; exits: number[] } {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return {
    emitter,
    exits,
    pid: 4242,
    on: (event, listener) => emitter.on(event, listener),
    removeListener: (event, listener) => emitter.removeListener(event, listener),
    kill: () => true,
    exit: (code) => exits.push(code),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function outputPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-recovery-output-'));
  dirs.push(dir);
  return join(dir, 'recovery.txt');
}

describe('openRecoveryOutput and an ending signal', () => {
  it('removes the file made for the key when Ctrl-C ends the run before the key was written', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true }, proc);
    const file = outputPath();
    await openRecoveryOutput({ file, stdoutIsTty: true, stdout: () => {} });
    expect(existsSync(file)).toBe(true);
    proc.emitter.emit('SIGINT');
    await settle();
    expect(proc.exits).toEqual([130]);
    expect(existsSync(file)).toBe(false);
  });

  it('keeps the file once the key is in it', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true }, proc);
    const file = outputPath();
    const output = await openRecoveryOutput({ file, stdoutIsTty: true, stdout: () => {} });
    await output.write(Secret.copyOf(Buffer.from('abcdefgh-key')), { volume: 'data', device: '/dev/x', slot: 1 });
    proc.emitter.emit('SIGTERM');
    await settle();
    expect(readFileSync(file, 'utf8')).toBe('abcdefgh-key\n');
  });
});
