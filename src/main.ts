// The entry point: the only place that reads argv and the environment and calls process.exit (src/exec/children.ts
// ends the process on a signal).
import { isatty } from 'node:tty';
import { runCli } from './cli/run-cli.ts';
import { endChildrenWithProcess, hasStuckRead, isEnding } from './exec/children.ts';
import { isJournalStream } from './systemd/journal-stream.ts';

declare const LUKS_SSM_VERSION: string | undefined;

/** Replaced by the bundler with package.json's version; running from source says "dev". */
const version = typeof LUKS_SSM_VERSION === 'string' ? LUKS_SSM_VERSION : 'dev';

// Before any program starts: a signal then always finds its listener (src/exec/children.ts says why).
endChildrenWithProcess({ terminal: [0, 1, 2].some((fd) => isatty(fd)) });

// process.exit, not exitCode: a lingering keep-alive socket must not hold a boot-time oneshot open.
// stdout/stderr are synchronous for files, TTYs and pipes on Linux, so nothing written is lost.
void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
  journal: { stdout: isJournalStream(1, process.env.JOURNAL_STREAM), stderr: isJournalStream(2, process.env.JOURNAL_STREAM) },
  uid: process.getuid?.() ?? -1,
  version,
}).then((code) => {
  // After a signal the process ends by it once the children have ended (children.ts), not with this code.
  if (isEnding()) return;
  // Node's exit would wait for the thread of a read given up on (for ever, if it never returns); the result is written.
  if (hasStuckRead()) process.kill(process.pid, 'SIGKILL');
  process.exit(code);
});
