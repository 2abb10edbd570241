// The real clock for integration tests (the emulator runs in real time).
import type { Clock } from '../../src/types.ts';

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};
