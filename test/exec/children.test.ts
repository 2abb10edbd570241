import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ENDING_SIGNALS, endChildrenWithProcess, giveUpOnRead, hasStuckRead, isEnding, liveChildren, resetEndingForTests, track, type OwnProcess } from '../../src/exec/children.ts';
import { createRunner, runForSecret } from '../../src/exec/run.ts';

// Each test plays its own signal; the module remembers the first for the rest of a real process's life.
afterEach(() => resetEndingForTests());

/** Lets the promise callbacks queued by a child's end run (the process ends in one of them). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A process object that records what the module does to it; `emit` plays the kernel's signal. */
function fakeProcess(): OwnProcess & { emitter: EventEmitter; raised: NodeJS.Signals[]; exits: number[] } {
  const emitter = new EventEmitter();
  const raised: NodeJS.Signals[] = [];
  const exits: number[] = [];
  return {
    emitter,
    raised,
    exits,
    pid: 4242,
    on: (event, listener) => emitter.on(event, listener),
    removeListener: (event, listener) => emitter.removeListener(event, listener),
    kill: (pid, signal) => {
      expect(pid).toBe(4242);
      raised.push(signal);
      return true;
    },
    exit: (code) => exits.push(code),
  };
}

/** A real child that runs until told to end, and a promise of how it ended. */
function sleeper(): { ended: Promise<NodeJS.Signals | null> } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  track(child, ended);
  return { ended };
}

/**
 * A real child that, told to end, says so and then waits to be let go (cryptsetup finishing the key slot it
 * derives), or with `ignore` does not end at all.
 */
async function slowToEnd(mode: 'when-let-go' | 'ignore') {
  const trap = mode === 'ignore' ? "trap '' TERM" : "trap 'echo told; read line; exit 0' TERM";
  const child = spawn('sh', ['-c', `${trap}; echo ready; while :; do sleep 0.05; done`], { stdio: ['pipe', 'pipe', 'ignore'] });
  const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  track(child, ended);
  const lines: string[] = [];
  const nextLine = () => new Promise<string>((resolve) => child.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim())));
  // Its trap is set once it says so: a SIGTERM before that would end it at once.
  await nextLine();
  return { child, ended, told: () => nextLine(), letGo: () => child.stdin!.write('go\n') };
}

describe('endChildrenWithProcess', () => {
  it.for(ENDING_SIGNALS)('%s, no terminal (the unit): the children get SIGTERM, then the same signal with no listener left', async (signal) => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: false }, proc);
    const { ended } = sleeper();
    proc.emitter.emit(signal);
    expect(await ended).toBe('SIGTERM');
    await settle();
    expect(proc.raised).toEqual([signal]);
    // No listener left for it: the signal sent again takes its default action and ends the process.
    expect(proc.emitter.listenerCount(signal)).toBe(0);
    // Reached only when the raise did not end the process (the fake's does not): it still ends.
    expect(proc.exits).toEqual([128 + constants.signals[signal]]);
  });

  it.for(ENDING_SIGNALS)('%s on a terminal: the children get SIGTERM, then exit 128 + its number (Node resets the terminal)', async (signal) => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true }, proc);
    const { ended } = sleeper();
    proc.emitter.emit(signal);
    expect(await ended).toBe('SIGTERM');
    await settle();
    expect(proc.raised).toEqual([]);
    expect(proc.exits).toEqual([128 + constants.signals[signal]]);
  });

  // A killed start let go of its locks while its `cryptsetup open` went on to finish the open: a next start raced it.
  it('waits for a child that takes its time to end (cryptsetup finishing an open) before the process ends', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: false }, proc);
    const slow = await slowToEnd('when-let-go');
    const told = slow.told();
    proc.emitter.emit('SIGTERM');
    expect(await told).toBe('told');
    await settle();
    expect([proc.raised, proc.exits]).toEqual([[], []]);
    slow.letGo();
    expect(await slow.ended).toBe(0);
    await settle();
    expect(proc.raised).toEqual(['SIGTERM']);
  });

  it('ends the process after the grace even if a child does not end, and at once on a second signal', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true, graceMs: 300 }, proc);
    const stubborn = await slowToEnd('ignore');
    proc.emitter.emit('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(proc.exits).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(proc.exits).toEqual([143]);
    const again = fakeProcess();
    resetEndingForTests();
    endChildrenWithProcess({ terminal: true }, again);
    again.emitter.emit('SIGINT');
    again.emitter.emit('SIGINT');
    expect(again.exits).toEqual([130]);
    stubborn.child.kill('SIGKILL');
    await stubborn.ended;
  });

  it('starts no program once a signal came: the runner and the secret runner refuse, naming the program', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true }, proc);
    proc.emitter.emit('SIGTERM');
    expect(isEnding()).toBe(true);
    await expect(createRunner()('cryptsetup', ['open'])).rejects.toThrow('not starting cryptsetup: luks-ssm is ending on a signal');
    await expect(runForSecret('systemd-ask-password', [], { timeoutMs: 1000 })).rejects.toThrow('not starting systemd-ask-password');
    await settle();
    expect(proc.exits).toEqual([143]);
  });

  // Review 12: on a terminal, exit waited for the stuck read's thread for ever, and every later signal was swallowed.
  it('ends the process by SIGKILL when a read given up on is still pending (Node could not exit)', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: true }, proc);
    let answer!: () => void;
    giveUpOnRead(new Promise<void>((resolve) => (answer = resolve)));
    expect(hasStuckRead()).toBe(true);
    proc.emitter.emit('SIGINT');
    await settle();
    expect(proc.raised).toEqual(['SIGKILL']);
    answer();
    await settle();
    expect(hasStuckRead()).toBe(false);
  });

  it('on exit, the live children get SIGTERM; the process is not signalled', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: false }, proc);
    const { ended } = sleeper();
    proc.emitter.emit('exit');
    expect(await ended).toBe('SIGTERM');
    expect(proc.raised).toEqual([]);
  });
});

describe('the runner and signals', () => {
  it('adds no signal listener while a program runs (execa\'s clean-up did, and removed it after: a signal then was lost)', async () => {
    const count = () => ENDING_SIGNALS.map((signal) => process.listenerCount(signal));
    const before = count();
    const running = createRunner()('sleep', ['0.2']);
    const during = count();
    const liveDuring = liveChildren();
    await running;
    expect(during).toEqual(before);
    expect(count()).toEqual(before);
    // Tracked instead, and forgotten once it ended.
    expect(liveDuring).toBeGreaterThan(liveChildren());
  });
});

describe('track', () => {
  it('forgets a program once its end has settled, whether it exited or never started', async () => {
    const before = liveChildren();
    let exited!: () => void;
    let failed!: (error: Error) => void;
    track({ kill: () => true }, new Promise<void>((resolve) => (exited = resolve)));
    track({ kill: () => true }, new Promise<void>((_resolve, reject) => (failed = reject)));
    expect(liveChildren()).toBe(before + 2);
    exited();
    failed(new Error('ENOENT'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(liveChildren()).toBe(before);
  });
});
