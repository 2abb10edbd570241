// SSM read actions: GetParameter, GetParameters, GetParameterHistory, DescribeParameters.
import type { ActionHandler, CallContext } from './context.ts';
import { AwsError, validation } from './errors.ts';
import { optionalBoolean, optionalNumber, optionalObjectList, optionalString, optionalStringList, requireString, type Input } from './input.ts';
import { page } from './paging.ts';
import { decryptValue } from './ssm-secure.ts';
import { findParameter, parseRef, selectVersion, type ParameterRef } from './ssm-names.ts';
import { latestVersion, parameterArn, parameterKey, type Parameter, type ParameterVersion } from './store.ts';

const seconds = (ms: number): number => ms / 1000;

/** A SecureString read without decryption shows its ciphertext, base64, as real SSM does. */
function valueOf(ctx: CallContext, parameter: Parameter, version: ParameterVersion, withDecryption: boolean): string {
  if (version.type !== 'SecureString') return version.value ?? '';
  const ciphertext = version.ciphertext as Buffer;
  return withDecryption ? decryptValue(ctx, parameter.name, ciphertext) : ciphertext.toString('base64');
}

function parameterView(ctx: CallContext, parameter: Parameter, version: ParameterVersion, ref: ParameterRef, withDecryption: boolean): Record<string, unknown> {
  return {
    Name: parameter.name,
    Type: version.type,
    Value: valueOf(ctx, parameter, version, withDecryption),
    Version: version.version,
    ...(ref.selectorText === undefined ? {} : { Selector: ref.selectorText }),
    LastModifiedDate: seconds(version.modified),
    ARN: parameterArn(ctx.state, parameter.name),
    DataType: version.dataType,
  };
}

function metadataView(ctx: CallContext, parameter: Parameter, version: ParameterVersion): Record<string, unknown> {
  return {
    Name: parameter.name,
    ARN: parameterArn(ctx.state, parameter.name),
    Type: version.type,
    ...(version.keyId === undefined ? {} : { KeyId: version.keyId }),
    LastModifiedDate: seconds(version.modified),
    LastModifiedUser: version.user,
    ...(version.description === undefined ? {} : { Description: version.description }),
    ...(version.allowedPattern === undefined ? {} : { AllowedPattern: version.allowedPattern }),
    Version: version.version,
    Tier: version.tier,
    Policies: [],
    DataType: version.dataType,
  };
}

function readOne(ctx: CallContext, raw: string, withDecryption: boolean): Record<string, unknown> {
  const ref = parseRef(ctx.state, raw);
  const parameter = findParameter(ctx.state, ref);
  return parameterView(ctx, parameter, selectVersion(parameter, ref), ref, withDecryption);
}

type Filter = (parameter: Parameter, version: ParameterVersion) => boolean;

/** ParameterFilters (Name Equals/BeginsWith/Contains, Path, Type, KeyId) and the older Filters. */
function filterOf(input: Input): Filter {
  const filters: Filter[] = [];
  for (const f of optionalObjectList(input, 'ParameterFilters') ?? []) {
    const key = requireString(f, 'Key');
    const option = optionalString(f, 'Option') ?? (key === 'Path' ? 'OneLevel' : 'Equals');
    const values = optionalStringList(f, 'Values') ?? [];
    filters.push(parameterFilter(key, option, values));
  }
  for (const f of optionalObjectList(input, 'Filters') ?? []) {
    const key = requireString(f, 'Key');
    filters.push(parameterFilter(key, key === 'Name' ? 'BeginsWith' : 'Equals', optionalStringList(f, 'Values') ?? []));
  }
  return (p, v) => filters.every((f) => f(p, v));
}

function parameterFilter(key: string, option: string, values: string[]): Filter {
  const name = (p: Parameter): string => parameterKey(p.name);
  switch (key) {
    case 'Name':
      if (option === 'Equals') return (p) => values.some((x) => name(p) === parameterKey(x));
      if (option === 'BeginsWith') return (p) => values.some((x) => name(p).startsWith(parameterKey(x)));
      if (option === 'Contains') return (p) => values.some((x) => p.name.includes(x));
      break;
    case 'Path': {
      const prefixes = values.map((x) => (x.endsWith('/') ? x : `${x}/`));
      if (option === 'Recursive') return (p) => prefixes.some((x) => p.name.startsWith(x));
      if (option === 'OneLevel') return (p) => prefixes.some((x) => p.name.startsWith(x) && !p.name.slice(x.length).includes('/'));
      break;
    }
    case 'Type':
      return (_p, v) => values.includes(v.type);
    case 'KeyId':
      return (_p, v) => v.keyId !== undefined && values.includes(v.keyId);
    case 'Label':
      return (p) => p.versions.some((v) => v.labels.some((l) => values.includes(l)));
  }
  throw new AwsError('InvalidFilterOption', `The filter option "${option}" is not valid for key "${key}".`);
}

export const SSM_READ_ACTIONS: Record<string, ActionHandler> = {
  GetParameter: (ctx, input) => ({
    Parameter: readOne(ctx, requireString(input, 'Name'), optionalBoolean(input, 'WithDecryption') ?? false),
  }),
  GetParameters: (ctx, input) => {
    const names = optionalStringList(input, 'Names') ?? [];
    if (names.length < 1 || names.length > 10) {
      throw validation(`1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10`);
    }
    const withDecryption = optionalBoolean(input, 'WithDecryption') ?? false;
    const found: unknown[] = [];
    const invalid: string[] = [];
    for (const raw of names) {
      try {
        found.push(readOne(ctx, raw, withDecryption));
      } catch (err) {
        if (!(err instanceof AwsError) || !['ParameterNotFound', 'ParameterVersionNotFound'].includes(err.type)) throw err;
        invalid.push(raw);
      }
    }
    return { Parameters: found, InvalidParameters: invalid };
  },
  GetParameterHistory: (ctx, input) => {
    const raw = requireString(input, 'Name');
    const ref = parseRef(ctx.state, raw);
    if (ref.selector !== undefined) throw validation('Parameter name in GetParameterHistory must not include a version or label.');
    const parameter = findParameter(ctx.state, ref);
    const withDecryption = optionalBoolean(input, 'WithDecryption') ?? false;
    const slice = page(parameter.versions, `history:${parameterKey(parameter.name)}`, optionalNumber(input, 'MaxResults'), 50, optionalString(input, 'NextToken'));
    return {
      Parameters: slice.items.map((v) => ({
        ...metadataView(ctx, parameter, v),
        Value: valueOf(ctx, parameter, v, withDecryption),
        Labels: [...v.labels],
      })),
      ...(slice.nextToken === undefined ? {} : { NextToken: slice.nextToken }),
    };
  },
  DescribeParameters: (ctx, input) => {
    const keep = filterOf(input);
    const matching = [...ctx.state.parameters.values()]
      .filter((p) => keep(p, latestVersion(p)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const slice = page(matching, 'describe', optionalNumber(input, 'MaxResults'), 50, optionalString(input, 'NextToken'));
    return {
      Parameters: slice.items.map((p) => metadataView(ctx, p, latestVersion(p))),
      ...(slice.nextToken === undefined ? {} : { NextToken: slice.nextToken }),
    };
  },
};
