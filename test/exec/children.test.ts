import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ENDING_SIGNALS, endChildrenWithProcess, liveChildren, track, type OwnProcess } from '../../src/exec/children.ts';

/** A process object that records what the module does to it; `emit` plays the kernel's signal. */
function fakeProcess(): OwnProcess & { emitter: EventEmitter; raised: NodeJS.Signals[] } {
  const emitter = new EventEmitter();
  const raised: NodeJS.Signals[] = [];
  return {
    emitter,
    raised,
    pid: 4242,
    on: (event, listener) => emitter.on(event, listener),
    removeListener: (event, listener) => emitter.removeListener(event, listener),
    kill: (pid, signal) => {
      expect(pid).toBe(4242);
      raised.push(signal);
      return true;
    },
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
  it.for(ENDING_SIGNALS)('%s: the live children get SIGTERM, then the process is sent the same signal with no listener left', async (signal) => {
    const proc = fakeProcess();
    endChildrenWithProcess(proc);
    const { ended } = sleeper();
    proc.emitter.emit(signal);
    expect(await ended).toBe('SIGTERM');
    expect(proc.raised).toEqual([signal]);
    // No listener left for it: the signal sent again takes its default action and ends the process.
    expect(proc.emitter.listenerCount(signal)).toBe(0);
  });

  it('keeps one listener per signal while programs start and end (a signal is never without one)', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess(proc);
    const child = spawn('true', [], { stdio: 'ignore' });
    const ended = new Promise((resolve) => child.once('exit', resolve));
    track(child, ended);
    await ended;
    for (const signal of ENDING_SIGNALS) expect(proc.emitter.listenerCount(signal)).toBe(1);
    expect(proc.raised).toEqual([]);
  });

  it('on exit, the live children get SIGTERM; the process is not signalled', async () => {
    const proc = fakeProcess();
    endChildrenWithProcess(proc);
    const { ended } = sleeper();
    proc.emitter.emit('exit');
    expect(await ended).toBe('SIGTERM');
    expect(proc.raised).toEqual([]);
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
