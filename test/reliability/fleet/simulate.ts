// One simulated fleet boot: N hosts start within a window and each fetches its key from one throttled SSM.
import { CONFIG_KEYS } from '../../../src/config/keys.ts';
import { createFaults } from '../../emulator/faults.ts';
import type { RetryMode } from './modes.ts';
import { createSimClock, seededRandom } from './sim-clock.ts';

/** SSM's standard throughput for GetParameter (AWS General Reference, Systems Manager quotas): 40 TPS. */
export const SSM_STANDARD_TPS = 40;
/** The bucket's burst: one second's worth (AWS does not publish it; the emulator's token bucket takes this). */
export const SSM_STANDARD_BURST = 40;
/** Round trip of one GetParameter inside a region. */
export const CALL_RTT_MS = 40;
export const BOOT_SPREAD_MS = 10_000;
/** TIMEOUT_SEC's default, read from the key table: the figures follow it. */
export const DEADLINE_MS = Number(CONFIG_KEYS.find((k) => k.name === 'TIMEOUT_SEC')!.default) * 1000;

export interface FleetResult {
  mode: string;
  hosts: number;
  /** Seconds from a host's own boot to its key: p50, p99, max (hosts that got one). */
  waitSec: { p50: number; p99: number; max: number };
  /** Seconds from the first boot until the last host has its key, and that over the minimum N ÷ TPS. */
  lastKeySec: number;
  lastKeyVsMinimum: number;
  calls: { mean: number; max: number; total: number };
  throttled: number;
  /** Hosts without their key: gave up, or the deadline passed. */
  missed: number;
  /** Requests arriving per second of simulated time. */
  perSecond: Array<{ second: number; served: number; throttled: number }>;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const percentile = (sorted: number[], p: number) => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function simulateFleet(mode: RetryMode, hosts: number, seed: number): Promise<FleetResult> {
  const clock = createSimClock(seededRandom(seed));
  const faults = createFaults();
  faults.set({ throttle: { ssm: { rate: SSM_STANDARD_TPS, burst: SSM_STANDARD_BURST } } });
  const served: number[] = [];
  const throttledAt: number[] = [];
  const waits: number[] = [];
  let lastKey = 0;
  let missed = 0;
  let total = 0;
  let maxCalls = 0;

  const bump = (series: number[], ms: number) => {
    const s = Math.floor(ms / 1000);
    series[s] = (series[s] ?? 0) + 1;
  };

  for (let host = 0; host < hosts; host += 1) {
    const boot = clock.random() * BOOT_SPREAD_MS;
    clock.at(boot, () => {
      let calls = 0;
      const call = () => new Promise<void>((resolve, reject) => {
        calls += 1;
        clock.at(clock.now() + CALL_RTT_MS / 2, () => {
          const limited = faults.takeThrottle('ssm', clock.now());
          bump(limited ? throttledAt : served, clock.now());
          const error = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
          clock.at(clock.now() + CALL_RTT_MS / 2, () => (limited ? reject(error) : resolve()));
        });
      });
      mode.fetch(call, clock, boot + DEADLINE_MS).then(
        () => {
          waits.push(clock.now() - boot);
          lastKey = Math.max(lastKey, clock.now());
        },
        () => {
          missed += 1;
        },
      ).finally(() => {
        total += calls;
        maxCalls = Math.max(maxCalls, calls);
      });
    });
  }
  await clock.runAll();

  waits.sort((a, b) => a - b);
  const seconds = Math.max(served.length, throttledAt.length);
  const minimumSec = hosts / SSM_STANDARD_TPS;
  return {
    mode: mode.name,
    hosts,
    waitSec: { p50: round(percentile(waits, 50) / 1000, 1), p99: round(percentile(waits, 99) / 1000, 1), max: round((waits.at(-1) ?? NaN) / 1000, 1) },
    lastKeySec: round(lastKey / 1000, 1),
    lastKeyVsMinimum: round(lastKey / 1000 / minimumSec),
    calls: { mean: round(total / hosts), max: maxCalls, total },
    throttled: throttledAt.reduce((a, b) => a + (b ?? 0), 0),
    missed,
    perSecond: Array.from({ length: seconds }, (_, s) => ({ second: s, served: served[s] ?? 0, throttled: throttledAt[s] ?? 0 })),
  };
}
