// Runs one command to completion and reports wall time (spawn to exit) or its peak RSS; no shell in between.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GNU_TIME = '/usr/bin/time';
const RUN_TIMEOUT_MS = 30_000;

/** Resolves { ms, code, stdout, stderr }; rejects only when the command cannot start or hangs. */
export function runTimed(file, args, env) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (signal) return reject(new Error(`${file} was killed by ${signal} (timeout ${RUN_TIMEOUT_MS} ms?)`));
      child.on('close', () => resolve({ ms, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    });
  });
}

/** Like runTimed, under GNU time: adds peakKb, the child's maximum resident set (wait4 ru_maxrss). */
export async function runWithPeakRss(file, args, env) {
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-rss-'));
  try {
    const report = join(dir, 'rss');
    const run = await runTimed(GNU_TIME, ['-f', '%M', '-o', report, file, ...args], env);
    return { ...run, peakKb: Number((await readFile(report, 'utf8')).trim().split('\n').at(-1)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Like runTimed, under bash: adds cpuMs, the child's user+system CPU time (bash's `times`, getrusage of its
 * children, to the millisecond). On a busy machine CPU time says more than wall time.
 */
export async function runWithCpu(file, args, env) {
  const dir = await mkdtemp(join(tmpdir(), 'luks-ssm-cpu-'));
  try {
    const report = join(dir, 'times');
    const script = 'out=$1; shift; "$@"; rc=$?; times > "$out"; exit $rc';
    const run = await runTimed('/bin/bash', ['-c', script, 'bash', report, file, ...args], env);
    const children = (await readFile(report, 'utf8')).trim().split('\n').at(-1);
    const [user, sys] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, sec]) => Number(m) * 60_000 + Number(sec) * 1000);
    return { ...run, cpuMs: user + sys };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Throws with the child's own words when a measured run did not do what it should have. */
export function expectSuccess(label, run, pattern) {
  if (run.code === 0 && pattern.test(run.stdout)) return run;
  throw new Error(`${label} failed (exit ${run.code}):\n${run.stdout}${run.stderr}`);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
