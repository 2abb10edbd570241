// A fresh start scene for one test, torn down when the test ends, whatever it did.
import type { TestContext } from 'vitest';
import { startScene, type StartScene } from './start-scene.ts';

export async function sceneFor(ctx: Pick<TestContext, 'onTestFinished'>, prefix: string): Promise<StartScene> {
  const scene = await startScene(prefix);
  ctx.onTestFinished(() => scene.tearDown());
  return scene;
}

/** Polls `ready` every 20 ms until it holds; fails after `ms` (every wait in a test is bounded). */
export async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
