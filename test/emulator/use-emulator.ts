// Test helper: one emulator per describe block (or file), started before its tests, reset before each, stopped after.
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startEmulator, type Emulator } from './index.ts';

export interface EmulatorWorld {
  /** Set by beforeAll; a test may replace it (a restart), and afterAll stops whichever is current. */
  emulator: Emulator;
}

export interface UseEmulatorOptions {
  /** Point the SDK's IMDS credential provider at the emulator while it runs (restoring the old value after). */
  imdsEndpoint?: boolean;
  /** What every test expects to find: runs before each test, right after the reset. */
  beforeEach?: (emulator: Emulator) => void;
}

const IMDS_ENDPOINT = 'AWS_EC2_METADATA_SERVICE_ENDPOINT';

/**
 * Registers the hooks in the enclosing describe block (or the file) and returns the world they fill in:
 * read `world.emulator` inside tests and hooks, never at collection time.
 */
export function useEmulator(opts: UseEmulatorOptions = {}): EmulatorWorld {
  const world = {} as EmulatorWorld;
  let savedEndpoint: string | undefined;
  beforeAll(async () => {
    world.emulator = await startEmulator();
    if (opts.imdsEndpoint) {
      // The SDK's IMDS provider reads its endpoint only from here: never 169.254.169.254 in tests.
      savedEndpoint = process.env[IMDS_ENDPOINT];
      process.env[IMDS_ENDPOINT] = world.emulator.url;
    }
  });
  afterAll(async () => {
    if (opts.imdsEndpoint) {
      if (savedEndpoint === undefined) delete process.env[IMDS_ENDPOINT];
      else process.env[IMDS_ENDPOINT] = savedEndpoint;
    }
    await world.emulator?.stop();
  });
  beforeEach(() => {
    world.emulator.reset();
    opts.beforeEach?.(world.emulator);
  });
  return world;
}
