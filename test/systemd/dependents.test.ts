// Dependents of a volume as systemd reports them: running ones for start, ordering for status, holders for stop.
import { describe, expect, it } from 'vitest';
import { describeDependents, findActiveDependents, nameHolders } from '../../src/systemd/dependents.ts';
import { createFakeBus } from './fake-bus.ts';

const VOLUME = { volume: 'data', mountPoint: '/srv/data', requiredBy: ['postgresql.service', 'app.service', 'late.service', 'broken.service'] };

describe('findActiveDependents', () => {
  it('returns the REQUIRED_BY units whose processes may be running', async () => {
    const bus = createFakeBus({
      states: { 'postgresql.service': { activeState: 'active' }, 'app.service': { activeState: 'activating' }, 'late.service': { activeState: 'failed' } },
    });
    expect(await findActiveDependents(bus, ['postgresql.service', 'app.service', 'late.service', 'gone.service'])).toEqual(['postgresql.service', 'app.service']);
  });

  it('knows none without a bus, and passes a failed call on for the caller to decide', async () => {
    expect(await findActiveDependents(undefined, ['postgresql.service'])).toEqual([]);
    await expect(findActiveDependents(createFakeBus({ failing: ['app.service'] }), ['app.service'])).rejects.toMatchObject({ kind: 'SYSTEM' });
  });
});

describe('describeDependents', () => {
  it('tells which dependents systemd orders after the volume, through the service or the mount unit', async () => {
    const bus = createFakeBus({
      states: { 'postgresql.service': { activeState: 'active', subState: 'running' }, 'app.service': {}, 'late.service': {} },
      dependencies: {
        'postgresql.service': { After: ['luks-ssm@data.service', 'network.target'], Requires: ['luks-ssm@data.service'] },
        'app.service': { After: ['srv-data.mount'], Requires: ['srv-data.mount'] },
        'late.service': { After: ['network.target'] },
      },
      failing: ['broken.service'],
    });
    expect(await describeDependents(bus, VOLUME)).toEqual([
      { unit: 'postgresql.service', loadState: 'loaded', activeState: 'active', subState: 'running', orderedAfter: true, requires: true },
      { unit: 'app.service', loadState: 'loaded', activeState: 'inactive', subState: 'dead', orderedAfter: true, requires: true },
      { unit: 'late.service', loadState: 'loaded', activeState: 'inactive', subState: 'dead', orderedAfter: false, requires: false },
      { unit: 'broken.service', loadState: 'unknown', activeState: 'unknown', subState: 'unknown', orderedAfter: undefined, requires: undefined },
    ]);
  });

  it('reports everything as unknown without a bus', async () => {
    const result = await describeDependents(undefined, { ...VOLUME, requiredBy: ['postgresql.service'] });
    expect(result).toEqual([{ unit: 'postgresql.service', loadState: 'unknown', activeState: 'unknown', subState: 'unknown', orderedAfter: undefined, requires: undefined }]);
  });
});

describe('nameHolders', () => {
  it('names the unit of each pid, and leaves it undefined when systemd knows none or cannot answer', async () => {
    const bus = createFakeBus({ pids: { 100: 'session-3.scope', 200: 'run-u12.service' }, failing: ['300'] });
    expect(await nameHolders(bus, [100, 200, 300, 400])).toEqual([
      { pid: 100, unit: 'session-3.scope' },
      { pid: 200, unit: 'run-u12.service' },
      { pid: 300, unit: undefined },
      { pid: 400, unit: undefined },
    ]);
    expect(await nameHolders(undefined, [100])).toEqual([{ pid: 100, unit: undefined }]);
  });
});
