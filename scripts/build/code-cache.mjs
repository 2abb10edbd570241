// Build step: one real fetch against the emulator through the loader, leaving the V8 code cache behind.
import { fileURLToPath } from 'node:url';
import { FETCHED, startFetchFixture } from './fetch-fixture.ts';
import { expectSuccess, runTimed } from './measure.mjs';

const WARM_RUN = fileURLToPath(new URL('./warm-run.cjs', import.meta.url));

export async function writeCodeCache({ loader, cache }) {
  const fixture = await startFetchFixture();
  try {
    const run = await runTimed(process.execPath, [WARM_RUN, loader, cache, ...fixture.args], fixture.env);
    expectSuccess('code-cache warm-up fetch', run, FETCHED);
  } finally {
    await fixture.stop();
  }
}
