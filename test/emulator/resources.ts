// The resource ARN an action is about, for AccessDenied messages ("… on resource: <arn> …").
import { findKey, keyArn } from './kms-keys.ts';
import { keyIdOfBlob } from './kms-cipher.ts';
import { parseRef, arnOfRef } from './ssm-names.ts';
import type { Input } from './input.ts';
import type { State } from './store.ts';

function firstString(input: Input, fields: string[]): string | undefined {
  for (const field of fields) {
    const value = input[field];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

function ssmResource(state: State, input: Input): string {
  const name = firstString(input, ['Name', 'Names', 'ResourceId']);
  if (name === undefined) return `arn:aws:ssm:${state.region}:${state.accountId}:*`;
  try {
    return arnOfRef(state, parseRef(state, name));
  } catch {
    return `arn:aws:ssm:${state.region}:${state.accountId}:parameter/${name.replace(/^\//, '')}`;
  }
}

function kmsResource(state: State, input: Input): string {
  const ref = firstString(input, ['KeyId', 'TargetKeyId']);
  const blob = typeof input.CiphertextBlob === 'string' ? keyIdOfBlob(Buffer.from(input.CiphertextBlob, 'base64')) : undefined;
  if (ref === undefined && blob === undefined) return '*';
  try {
    return findKey(state, ref ?? (blob as string)).arn;
  } catch {
    return ref?.startsWith('arn:') ? ref : keyArn(state, ref ?? (blob as string));
  }
}

export function resourceOf(state: State, service: string, input: Input): string {
  return service === 'ssm' ? ssmResource(state, input) : kmsResource(state, input);
}
