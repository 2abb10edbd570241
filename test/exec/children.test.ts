import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ENDING_SIGNALS, endChildrenWithProcess, liveChildren, track, type OwnProcess } from '../../src/exec/children.ts';
import { createRunner } from '../../src/exec/run.ts';

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

describe('endChildrenWithProcess', () => {
  it.for(ENDING_SIGNALS)('%s, no terminal (the unit): the children get SIGTERM, then the same signal with no listener left', async (signal) => {
    const proc = fakeProcess();
    endChildrenWithProcess({ terminal: false }, proc);
    const { ended } = sleeper();
    proc.emitter.emit(signal);
    expect(await ended).toBe('SIGTERM');
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
    expect(proc.raised).toEqual([]);
    expect(proc.exits).toEqual([128 + constants.signals[signal]]);
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
