// What the runner prints: a timestamped progress line per step, PASS/FAIL per scenario, and the summary last line.
export interface Reporter {
  progress(line: string): void;
  /** `note`: what the reader should know of a pass, e.g. a boot that had to be started again. */
  pass(name: string, seconds: number, note?: string): void;
  fail(name: string, reason: string, seconds: number): void;
  /** Prints exactly `N passed, N failed` (the runner's last line) and returns the failure count. */
  summary(): number;
}

export function createReporter(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Reporter {
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`;
  return {
    progress: (line) => write(`${stamp()} ${line}`),
    pass(name, seconds, note) {
      passed += 1;
      write(`PASS ${name} (${seconds.toFixed(1)} s${note === undefined ? '' : `; ${note}`})`);
    },
    fail(name, reason, seconds) {
      failed += 1;
      write(`FAIL ${name}: ${reason.replaceAll('\n', ' | ')} (${seconds.toFixed(1)} s)`);
    },
    summary() {
      write(`${passed} passed, ${failed} failed`);
      return failed;
    },
  };
}
