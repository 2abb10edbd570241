// The 9p share seen by the guest at /mnt/host: the agent, guest helpers, scripts the host writes, results it reads.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HarnessError } from './errors.ts';

const GUEST_DIR = new URL('../guest/', import.meta.url).pathname;
const POLL_MS = 250;

export interface ScriptResult {
  status: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Creates the share layout and copies the guest agent and helper library into it. */
export function prepareShare(shareDir: string): void {
  for (const dir of ['results', 'steps']) mkdirSync(join(shareDir, dir), { recursive: true });
  for (const file of ['agent.sh', 'lib.sh', 'product.sh', 'stop-at.sh']) copyFileSync(join(GUEST_DIR, file), join(shareDir, file));
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Writes a guest script atomically (temp name, then rename: the agent never sees half a file), with the helper
 * library sourced and `vars` exported. The .sec file is the guest-side backstop limit, a little under the host's.
 */
export function writeScript(path: string, body: string, vars: Record<string, string>, hostTimeoutMs: number): void {
  const exports = Object.entries(vars).map(([name, value]) => `export ${name}=${quote(value)}`);
  const text = ['#!/bin/bash', '. /mnt/host/lib.sh', ...exports, body, ''].join('\n');
  writeFileSync(path.replace(/\.sh$/, '.sec'), `${Math.max(1, Math.floor(hostTimeoutMs / 1000) - 5)}\n`);
  writeFileSync(`${path}.tmp`, text, { mode: 0o755 });
  renameSync(`${path}.tmp`, path);
}

function readText(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

export interface WaitOptions {
  timeoutMs: number;
  /** Stops the wait early with this reason (e.g. QEMU exited); undefined while all is well. */
  abortReason: () => string | undefined;
}

/** Waits (bounded) for the agent's DONE marker in `dir` and returns what the script printed and its status. */
export async function waitForResult(dir: string, label: string, options: WaitOptions): Promise<ScriptResult> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  while (!existsSync(join(dir, 'DONE'))) {
    const aborted = options.abortReason();
    if (aborted !== undefined) throw new HarnessError(`${label}: ${aborted}`);
    if (Date.now() > deadline) throw new HarnessError(`${label}: no result within ${options.timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const status = Number.parseInt(readText(join(dir, 'status')).trim(), 10);
  return {
    status: Number.isNaN(status) ? -1 : status,
    stdout: readText(join(dir, 'stdout')),
    stderr: readText(join(dir, 'stderr')),
    seconds: (Date.now() - started) / 1000,
  };
}

export function bootScriptPath(shareDir: string, boot: number): string {
  return join(shareDir, `boot-${boot}.sh`);
}

export function stepScriptPath(shareDir: string, boot: number, step: number): string {
  const dir = join(shareDir, 'steps', `boot-${boot}`);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${step}.sh`);
}

export function resultDir(shareDir: string, boot: number, step?: number): string {
  const base = join(shareDir, 'results', `boot-${boot}`);
  return step === undefined ? base : join(base, `step-${step}`);
}
