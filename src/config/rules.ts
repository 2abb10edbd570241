// Checks that involve more than one key (the key table checks each value on its own).
import { UnlockError } from '../errors.ts';

/** A key's effective value and where it came from (no file: the built-in default). */
export interface Setting {
  value: string;
  file?: string;
  line?: number;
  /** Position in reading order (defaults file first); later settings win. -1 for built-in defaults. */
  order: number;
}

export type SettingLookup = (name: string) => Setting | undefined;

export function describeOrigin(setting: Setting): string {
  return setting.file === undefined ? 'built-in default' : `${setting.file}:${setting.line}`;
}

function shown(name: string, setting: Setting): string {
  return `${name}=${setting.value}${setting.file === undefined ? ' (default)' : ''}`;
}

function later(a: Setting, b: Setting): Setting {
  return a.order >= b.order ? a : b;
}

/** Each rule returns the one-line message for a violation, or undefined. */
export const COMBINATION_RULES: ReadonlyArray<(get: SettingLookup) => string | undefined> = [
  (get) => {
    const version = get('SSM_PARAMETER_VERSION');
    const label = get('SSM_PARAMETER_LABEL');
    if (!version || !label) return undefined;
    const [here, there] = later(label, version) === label ? [label, version] : [version, label];
    const name = (s: Setting): string => (s === label ? 'SSM_PARAMETER_LABEL' : 'SSM_PARAMETER_VERSION');
    return `${describeOrigin(here)}: ${name(here)} cannot be combined with ${name(there)} (set at ${describeOrigin(there)}); keep one`;
  },
  (get) => {
    const device = get('DEVICE_TIMEOUT_SEC');
    const overall = get('TIMEOUT_SEC');
    // An unset DEVICE_TIMEOUT_SEC (order -1: the built-in default) follows TIMEOUT_SEC instead (see load.ts).
    if (!device || !overall || device.order < 0 || Number(device.value) < Number(overall.value)) return undefined;
    return `${describeOrigin(later(device, overall))}: ${shown('DEVICE_TIMEOUT_SEC', device)} must be less than ${shown('TIMEOUT_SEC', overall)}`;
  },
  (get) => {
    // Without it start would decrypt under whatever key the header's token names: a token put on the disk by someone
    // with write access to it, under a key of theirs, would be taken (review 8).
    const source = get('KEY_SOURCE');
    if (source?.value !== 'kms' || get('KMS_KEY_ID') !== undefined) return undefined;
    return `${describeOrigin(source)}: KEY_SOURCE=kms needs KMS_KEY_ID (the one key start decrypts the header's token under); set KMS_KEY_ID= the key id, ARN or alias/NAME enroll used`;
  },
];

export function checkCombinations(get: SettingLookup): void {
  for (const rule of COMBINATION_RULES) {
    const message = rule(get);
    if (message !== undefined) throw new UnlockError('CONFIG', message);
  }
}
