// What `npm run reliability` asks of the fault matrix, and its README subsection.
import { renderFaultMatrix, runFaultMatrix, type FaultMatrix } from './fault-matrix.ts';

/** Issue #14 item 1 asks for at least this many rows. */
export const FAULT_MATRIX_MIN_ROWS = 30;

export function checkFaultMatrix(root: string, verdict: (ok: boolean, what: string) => void): FaultMatrix {
  const started = performance.now();
  const matrix = runFaultMatrix(root);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  verdict(matrix.status === 0, `fault matrix: ${matrix.files.length} test files pass (vitest exit ${matrix.status}, ${seconds} s)`);
  verdict(matrix.rows.length >= FAULT_MATRIX_MIN_ROWS, `fault matrix: ${matrix.rows.length} rows (at least ${FAULT_MATRIX_MIN_ROWS})`);
  for (const row of matrix.rows.filter((r) => !r.passed)) verdict(false, `fault matrix: the test of "${row.fault}" failed (${row.file}: ${row.test})`);
  // A skipped test drops its row silently (cryptsetup needs root): say so instead.
  verdict(matrix.skipped.length === 0, `fault matrix: no test skipped${matrix.skipped.length === 0 ? '' : ` (${matrix.skipped.slice(0, 3).join('; ')}${matrix.skipped.length > 3 ? '; …' : ''})`}`);
  return matrix;
}

export function faultMatrixSection(matrix: FaultMatrix): string {
  return [
    '### Fault matrix',
    '',
    renderFaultMatrix(matrix),
    '',
    'A filesystem that needs fsck is left to the user: start never repairs one. One the kernel refuses ends start with 87',
    '(`NEEDS_FSCK`), the mapping left open for `fsck -f /dev/mapper/NAME`, after which start mounts it; one merely marked',
    'with errors (the superblock\'s state, as `dumpe2fs -h` shows it) mounts, with a warning saying to run fsck.',
    '',
    'Not on the host: a power cut during `rotate` or `enroll --add-to-existing` only a guest can show (issue #14 item 4 is',
    'the crash runs in the guest). A busy mount point at stop also runs in the guest (test/vm/scenarios/04-busy-mount), with',
    'real processes holding a real mount.',
  ].join('\n');
}
