// The --help text: verbs, options, environment and the exit-code table (rendered from src/errors.ts).
import { formatExitCodeTable } from '../errors.ts';
import { LIFECYCLE_USAGE } from '../lifecycle/args.ts';

export function formatUsage(version: string): string {
  return `luks-ssm ${version} — unlock and mount LUKS volumes at boot with the passphrase from AWS SSM Parameter Store

Usage: luks-ssm <verb> [options] <volume>

Verbs:
  start <volume>     fetch the passphrase, open the LUKS device, mount it (idempotent)
  stop <volume>      unmount (never forced) and close; if busy, name the holders and change nothing
  status <volume>    what is open and mounted, which parameter version unlocked it, dependents
                     (--json: as JSON)
  check <volume>     pre-flight that changes nothing: config, device, AWS access, passphrase opens a keyslot
  enable <volume>    enable luks-ssm@<volume>.service at boot and order REQUIRED_BY units after it
  disable <volume>   undo enable (does not stop or close anything)
  fetch <volume>     fetch the passphrase and print its size, never the key; touches no device (times the
                     boot path's start-up to key in hand; needs no root)

${LIFECYCLE_USAGE}
Options:
  -c, --config FILE  use FILE instead of $LUKS_SSM_CONF_DIR/<volume>.conf
      --json         status: print JSON
  -v, --verbose      debug logging
  -h, --help         this text
      --version      print the version

Files and environment:
  /etc/luks-ssm/<volume>.conf   per-volume config (dir: LUKS_SSM_CONF_DIR)
  /etc/default/luks-ssm         defaults for every volume (file: LUKS_SSM_DEFAULTS)
  /run/luks-ssm/                run lock and unlock records (dir: LUKS_SSM_RUN_DIR)

Exit codes:
${formatExitCodeTable()}
`;
}

/** `luks-ssm <verb> --help`: that verb's lines of the full text (continuation lines included), and where the rest is. */
export function formatVerbUsage(version: string, verb: string): string {
  const lines = formatUsage(version).split('\n');
  const own: string[] = [];
  lines.forEach((line, index) => {
    if (!line.startsWith(`  ${verb} `)) return;
    own.push(line);
    for (let next = index + 1; lines[next]?.startsWith(' '.repeat(CONTINUATION_INDENT)); next++) own.push(lines[next]!);
  });
  return `Usage:
${own.join('\n')}

  -c, --config FILE and -v, --verbose go with every verb.
  luks-ssm --help lists every verb, option, file and exit code.
`;
}

/** Where a verb's description continues on the next line. */
const CONTINUATION_INDENT = 21;
