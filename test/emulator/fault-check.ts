// Validates a FaultSpec arriving as JSON over the control API, so a typo fails loudly instead of doing nothing.
import type { FaultSpec } from './faults.ts';
import { checkMutateBody } from './mutate.ts';

const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(field: string, expected: string): never {
  throw new Error(`fault "${field}" must be ${expected}`);
}

function checkThrottle(value: unknown): void {
  if (!isObject(value)) bad('throttle', 'an object {ssm?, kms?}');
  for (const [service, limits] of Object.entries(value)) {
    if (service !== 'ssm' && service !== 'kms') bad(`throttle.${service}`, 'ssm or kms');
    const bucket = isObject(limits) && isNumber(limits.rate) && isNumber(limits.burst);
    const share = isObject(limits) && isNumber(limits.share) && (limits.share as number) <= 1;
    if (limits !== null && !bucket && !share) bad(`throttle.${service}`, '{rate, burst} numbers, {share} in [0, 1], or null');
  }
}

const CHECKS: Record<string, (value: unknown) => void> = {
  latencyMs: (v) => {
    if (!isNumber(v) && !(isObject(v) && Object.values(v).every(isNumber))) bad('latencyMs', 'a number or {match: number}');
  },
  serverErrors: (v) => {
    if (v === null) return;
    if (!isObject(v)) bad('serverErrors', 'an object or null');
    if (v.count !== undefined && !isNumber(v.count)) bad('serverErrors.count', 'a number');
    if (v.rate !== undefined && !(isNumber(v.rate) && (v.rate as number) <= 1)) bad('serverErrors.rate', 'a number in [0, 1]');
    if (v.status !== undefined && v.status !== 500 && v.status !== 503) bad('serverErrors.status', '500 or 503');
    if (v.match !== undefined && typeof v.match !== 'string') bad('serverErrors.match', 'a string');
  },
  throttle: checkThrottle,
  denyActions: (v) => {
    if (!Array.isArray(v) || v.some((a) => typeof a !== 'string')) bad('denyActions', 'a list of strings like "ssm:GetParameter"');
  },
  resetNext: (v) => {
    if (!isNumber(v) && !(isObject(v) && isNumber(v.count) && (v.match === undefined || typeof v.match === 'string'))) bad('resetNext', 'a number or {count, match?}');
  },
  imds: (v) => {
    if (!['ok', 'slow', 'absent', 'notfound', 'token-refused'].includes(v as string)) bad('imds', 'ok, slow, absent, notfound or token-refused');
  },
  imdsDelayMs: (v) => {
    if (!isNumber(v)) bad('imdsDelayMs', 'a number');
  },
  mutateBody: checkMutateBody,
  expireSessions: (v) => {
    if (typeof v !== 'boolean') bad('expireSessions', 'true or false');
  },
};

export function checkFaultSpec(value: Record<string, unknown>): FaultSpec {
  for (const [field, v] of Object.entries(value)) {
    const check = CHECKS[field];
    if (check === undefined) throw new Error(`unknown fault "${field}" (known: ${Object.keys(CHECKS).join(', ')})`);
    check(v);
  }
  return value as FaultSpec;
}
