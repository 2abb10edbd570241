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
  check <volume>     pre-flight that changes nothing: config, device, AWS access, passphrase opens a keyslot
  enable <volume>    enable luks-ssm@<volume>.service at boot and order REQUIRED_BY units after it
  disable <volume>   undo enable (does not stop or close anything)

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
