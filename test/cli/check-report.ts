// Reads `luks-ssm check` output by step, so tests pin the lines they are about and tolerate steps added later.
import { plainLines } from '../support/cli.ts';

interface Step {
  name: string;
  /** `ok` and `warn` lines passed; `FAIL` did not. */
  ok: boolean;
  /** The step's line, then its "fix:" line when there is one: exactly as printed. */
  lines: string[];
}

/** Lines look like `ok    key      …`, `warn  keyslot  …` or `FAIL  device   …`, a warning or failure followed by `      fix: …`. */
function stepsOf(stdout: string): Step[] {
  const steps: Step[] = [];
  for (const line of plainLines(stdout)) {
    const step = /^(ok {4}|warn {2}|FAIL {2})(\S+)/.exec(line);
    if (step) steps.push({ name: step[2]!, ok: !step[1]!.startsWith('FAIL'), lines: [line] });
    else if (line.startsWith('      fix: ') && steps.length > 0) steps.at(-1)!.lines.push(line);
    else steps.push({ name: '?', ok: false, lines: [line] });
  }
  return steps;
}

/** The printed lines of the named steps, in the order asked (a missing step contributes `<no NAME step>`). */
export function stepLines(stdout: string, names: string[]): string[] {
  const steps = stepsOf(stdout);
  return names.flatMap((name) => steps.find((s) => s.name === name)?.lines ?? [`<no ${name} step>`]);
}

/** Which steps failed and which came last (check stops at the first failure); unknown lines count as failed. */
export function outcome(stdout: string): { failed: string[]; last: string | undefined } {
  const steps = stepsOf(stdout);
  return { failed: steps.filter((s) => !s.ok).map((s) => s.name), last: steps.at(-1)?.name };
}

/** The failing step's name, the text after its name column, and its fix; undefined when every step passed. */
export function failure(stdout: string): { step: string; detail: string; fix: string | undefined } | undefined {
  const failed = stepsOf(stdout).find((s) => !s.ok);
  if (failed === undefined) return undefined;
  const [line, fix] = failed.lines as [string, string | undefined];
  return { step: failed.name, detail: line.slice('FAIL  '.length + 9), fix: fix?.slice('      fix: '.length) };
}
