// The fleet simulation itself: deterministic, the default retry mode meets #14's targets at 1,000 hosts.
import { describe, expect, it } from 'vitest';
import { RETRY_MODES } from './fleet/modes.ts';
import { simulateFleet, SSM_STANDARD_TPS } from './fleet/simulate.ts';

const mode = (name: string) => RETRY_MODES.find((m) => m.name === name)!;

describe('fleet simulation (simulated clock, the real callWithRetry)', () => {
  it('1,000 hosts with the default: no miss, last key within 1.5× of N ÷ 40 TPS, at most 2 calls per host', async () => {
    const r = await simulateFleet(mode('window-20s'), 1000, 7);
    expect(r.missed).toBe(0);
    expect(r.lastKeySec).toBeGreaterThanOrEqual(1000 / SSM_STANDARD_TPS - 1);
    expect(r.lastKeyVsMinimum).toBeLessThanOrEqual(1.5);
    expect(r.calls.mean).toBeLessThanOrEqual(2);
    // The bucket is never beaten: no second serves more than its rate plus the burst.
    expect(Math.max(...r.perSecond.map((p) => p.served))).toBeLessThanOrEqual(2 * SSM_STANDARD_TPS);
  });

  it('is deterministic for a seed, and the SDK standard mode gives up on part of the same fleet', async () => {
    const a = await simulateFleet(mode('sdk-standard'), 1000, 7);
    const b = await simulateFleet(mode('sdk-standard'), 1000, 7);
    expect(a).toEqual(b);
    expect(a.missed).toBeGreaterThan(0);
    expect(a.calls.max).toBe(3);
  });
});
