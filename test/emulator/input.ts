// Typed reads of a JSON request body, failing the way AWS's request validation does.
import { validation } from './errors.ts';

export type Input = Record<string, unknown>;

function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function mustNotBeNull(field: string): never {
  throw validation(`1 validation error detected: Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`);
}

function wrongType(field: string, kind: string): never {
  throw validation(`Value at '${memberName(field)}' must be ${kind}`);
}

export function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') wrongType(field, 'a string');
  return value;
}

export function requireString(input: Input, field: string): string {
  return optionalString(input, field) ?? mustNotBeNull(field);
}

export function optionalNumber(input: Input, field: string): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) wrongType(field, 'an integer');
  return value;
}

export function optionalBoolean(input: Input, field: string): boolean | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') wrongType(field, 'a boolean');
  return value;
}

export function optionalStringList(input: Input, field: string): string[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) wrongType(field, 'a list of strings');
  return value as string[];
}

export function optionalStringMap(input: Input, field: string): Record<string, string> | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    wrongType(field, 'a map of strings');
  }
  return value as Record<string, string>;
}

export function optionalObjectList(input: Input, field: string): Input[] | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null)) wrongType(field, 'a list of structures');
  return value as Input[];
}

/** Blobs travel base64-encoded in JSON 1.1. */
export function requireBlob(input: Input, field: string): Buffer {
  const text = requireString(input, field);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw validation(`Value at '${memberName(field)}' is not valid base64`);
  return Buffer.from(text, 'base64');
}

/** Tags as [{Key, Value}] -> entries. */
export function optionalTags(input: Input, field: string): Array<[string, string]> | undefined {
  const list = optionalObjectList(input, field);
  if (list === undefined) return undefined;
  return list.map((tag) => [requireString(tag, 'Key'), optionalString(tag, 'Value') ?? '']);
}
