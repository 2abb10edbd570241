// The VM scenarios in the order they run on one guest (later ones build on the state earlier ones leave).
import type { Scenario } from '../lib/scenario.ts';
import { smoke } from './00-smoke.ts';
import { install } from './01-install.ts';
import { enableAtBoot } from './02-enable-at-boot.ts';
import { stopStart } from './03-stop-start.ts';
import { busyMount } from './04-busy-mount.ts';
import { awsUnreachable } from './05-aws-unreachable.ts';
import { cleanReboot } from './06-clean-reboot.ts';
import { secretAbsent } from './07-secret-absent.ts';
import { lifecycle } from './08-lifecycle.ts';

// 08 before 06: 06 checks 08's last reboot instead of paying for a boot of its own. 07 powers the guest off.
export const SCENARIOS: Scenario[] = [
  smoke, install, enableAtBoot, stopStart, busyMount, awsUnreachable, lifecycle, cleanReboot, secretAbsent,
];
