// Test helper: the emulator, image dir and fake /dev the lifecycle tests share; lifecycle deps; "what would start do" checks.
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { testPassphrase } from '../../src/luks/cryptsetup.ts';
import { createKeySource } from '../../src/lifecycle/key-source.ts';
import type { LifecycleDeps } from '../../src/lifecycle/steps.ts';
import type { VolumeConfig } from '../../src/types.ts';
import { createRecordingLogger } from '../aws/fakes.ts';
import { realClock } from '../aws/real-clock.ts';
import type { Emulator } from '../emulator/index.ts';
import { useEmulator, type EmulatorWorld, type UseEmulatorOptions } from '../emulator/use-emulator.ts';
import { credentialsEnv } from './config.ts';
import { createImageDir, run, type ImageDir } from './images.ts';

export interface FakeDev {
  root: string;
  /** Makes /dev/<name> (under root) point at `image`. */
  link(name: string, image: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createFakeDev(): Promise<FakeDev> {
  const root = await mkdtemp(join(tmpdir(), 'luks-ssm-dev-'));
  return {
    root,
    link: (name, image) => symlink(image, join(root, name)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface LifecycleWorld extends EmulatorWorld {
  images: ImageDir;
  dev: FakeDev;
}

/**
 * An emulator (reset before each test), an image dir and a fake /dev for the enclosing describe block or file,
 * filled in by beforeAll and removed by afterAll. At the top of a file whose tests sit in
 * describe.skipIf(!canRunCryptsetup), nothing starts when they are skipped: vitest runs no hooks for a file
 * whose tests are all skipped.
 */
export function useLifecycleWorld(opts: UseEmulatorOptions = {}): LifecycleWorld {
  const world = useEmulator(opts) as LifecycleWorld;
  beforeAll(async () => {
    world.images = await createImageDir();
    world.dev = await createFakeDev();
  });
  afterAll(async () => {
    await world.images?.cleanup();
    await world.dev?.cleanup();
  });
  return world;
}

export function lifecycleDeps(emulator: Emulator, dev: FakeDev, over: Partial<LifecycleDeps> = {}): LifecycleDeps & { log: ReturnType<typeof createRecordingLogger> } {
  return {
    run,
    clock: realClock,
    log: createRecordingLogger(),
    env: credentialsEnv(emulator),
    hostname: 'test-host',
    devRoot: dev.root,
    acquireLock: async () => ({ release: async () => {} }), acquireVolumeLock: async () => ({ release: async () => {} }),
    acquireDeviceLock: async () => ({ release: async () => {} }),
    ...over,
  } as LifecycleDeps & { log: ReturnType<typeof createRecordingLogger> };
}

/** A hook that "crashes" right after step `name`. */
export function crashAfter(name: string): (step: string) => void {
  return (step) => {
    if (step === name) throw new Error(`simulated crash after ${name}`);
  };
}

/**
 * What start would do: take the key source's keys in order and test each against the device. Returns the
 * description of the first that opens, or undefined when none does (the volume would be locked out).
 */
export async function keyStartWouldUse(emulator: Emulator, dev: FakeDev, config: VolumeConfig, device: string): Promise<string | undefined> {
  const source = createKeySource(config, { env: credentialsEnv(emulator), clock: realClock, log: createRecordingLogger(), run, devRoot: dev.root });
  for await (const key of source.keys(Date.now() + config.timeoutSec * 1000)) {
    const opens = await testPassphrase(run, device, key.secret);
    key.secret.wipe();
    if (opens) return `${key.source}@${key.version}`;
  }
  return undefined;
}
