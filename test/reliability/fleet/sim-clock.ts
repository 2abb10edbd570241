// A simulated clock for thousands of hosts in one process: sleeping schedules an event, nothing really waits.
import type { Clock } from '../../../src/types.ts';

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same fleet run, so figures are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface SimClock extends Clock {
  /** Runs `run` at simulated time `at` (ms). */
  at(at: number, run: () => void): void;
  /** Processes events in time order until none is left; lets every promise chain settle after each instant. */
  runAll(): Promise<void>;
}

export function createSimClock(random: () => number): SimClock {
  let now = 0;
  let seq = 0;
  // A binary heap ordered by (at, seq).
  const heap: Event[] = [];
  const less = (a: Event, b: Event) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
  const push = (e: Event) => {
    heap.push(e);
    for (let i = heap.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const pop = (): Event => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    random,
    sleep: (ms) => new Promise<void>((resolve) => push({ at: now + Math.max(0, ms), seq: seq++, run: resolve })),
    at: (at, run) => {
      if (!Number.isFinite(at)) throw new Error(`simulated event at ${at}`);
      push({ at, seq: seq++, run });
    },
    async runAll() {
      await settle();
      while (heap.length > 0) {
        const instant = heap[0]!.at;
        now = instant;
        while (heap.length > 0 && heap[0]!.at === instant) pop().run();
        await settle();
      }
    },
  };
}
