// SSM write actions: PutParameter, LabelParameterVersion, DeleteParameter(s).
import type { ActionHandler, CallContext } from './context.ts';
import { AwsError, validation } from './errors.ts';
import { optionalBoolean, optionalNumber, optionalString, optionalStringList, optionalTags, requireString, type Input } from './input.ts';
import { encryptValue } from './ssm-secure.ts';
import { findParameter, parseRef, validateNewName } from './ssm-names.ts';
import { latestVersion, parameterKey, type Parameter, type ParameterVersion } from './store.ts';

export const STANDARD_VALUE_MAX = 4096;
export const ADVANCED_VALUE_MAX = 8192;
const VERSIONS_KEPT = 100;
const LABELS_PER_VERSION_MAX = 10;

export interface PutRequest {
  name: string;
  value: string;
  /** Omitted on overwrite: the parameter keeps its type (and key). */
  type?: string;
  keyId?: string;
  overwrite?: boolean;
  tier?: string;
  description?: string;
  tags?: Array<[string, string]>;
  dataType?: string;
  allowedPattern?: string;
}

function chooseTier(requested: string | undefined, previous: string | undefined, length: number): string {
  if (requested !== undefined && !['Standard', 'Advanced', 'Intelligent-Tiering'].includes(requested)) {
    throw validation(`1 validation error detected: Value '${requested}' at 'tier' failed to satisfy constraint: Member must satisfy enum value set: [Standard, Advanced, Intelligent-Tiering]`);
  }
  if (requested === 'Standard' && previous === 'Advanced') {
    throw validation('This parameter uses the advanced-parameter tier. You can\'t downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.');
  }
  if (requested === 'Advanced' || previous === 'Advanced') return 'Advanced';
  if (requested === 'Intelligent-Tiering') return length > STANDARD_VALUE_MAX ? 'Advanced' : 'Standard';
  return 'Standard';
}

function patternOf(allowedPattern: string): RegExp {
  try {
    return new RegExp(allowedPattern);
  } catch {
    throw validation('The AllowedPattern is not a valid regular expression.');
  }
}

/** Messages name the limits, never the value (the value may be a secret). */
function checkValue(value: string, tier: string, allowedPattern: string | undefined): void {
  if (value.length < 1) throw validation('1 validation error detected: Value at \'value\' failed to satisfy constraint: Member must have length greater than or equal to 1');
  if (value.length > ADVANCED_VALUE_MAX) throw validation(`1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to ${ADVANCED_VALUE_MAX}`);
  if (tier === 'Standard' && value.length > STANDARD_VALUE_MAX) {
    throw validation(`Standard tier parameters support a maximum parameter value of ${STANDARD_VALUE_MAX} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.`);
  }
  if (allowedPattern !== undefined && !patternOf(allowedPattern).test(value)) {
    throw new AwsError('ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${allowedPattern}`);
  }
}

export function storeParameter(ctx: CallContext, req: PutRequest): { version: number; tier: string } {
  validateNewName(req.name);
  const existing = ctx.state.parameters.get(parameterKey(req.name));
  const previous = existing === undefined ? undefined : latestVersion(existing);
  const typeName = req.type ?? previous?.type;
  if (typeName === undefined) throw validation('A parameter type is required when you create a parameter.');
  if (!['String', 'StringList', 'SecureString'].includes(typeName)) {
    throw validation(`1 validation error detected: Value '${typeName}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
  }
  const type = typeName as ParameterVersion['type'];
  if (req.keyId !== undefined && type !== 'SecureString') throw validation('KeyId is required for SecureString type parameter only.');
  const keyId = req.keyId ?? (previous?.type === 'SecureString' ? previous.keyId : undefined);
  if (existing !== undefined && req.overwrite !== true) {
    throw new AwsError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
  }
  if (req.tags !== undefined && req.overwrite === true) {
    throw validation('Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.');
  }
  const tier = chooseTier(req.tier, previous?.tier, req.value.length);
  checkValue(req.value, tier, req.allowedPattern);
  if (existing !== undefined && existing.versions.length >= VERSIONS_KEPT && existing.versions[0].labels.length > 0) {
    throw new AwsError('ParameterMaxVersionLimitExceeded', `You attempted to create a new version of ${existing.name} by calling the PutParameter API with the overwrite flag. Version ${existing.versions[0].version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`);
  }
  const sealed = type === 'SecureString' ? encryptValue(ctx, req.name, keyId, req.value) : undefined;
  const parameter: Parameter = existing ?? { name: req.name, versions: [], tags: new Map(req.tags ?? []) };
  const version: ParameterVersion = {
    version: (previous?.version ?? 0) + 1,
    type,
    value: sealed === undefined ? req.value : undefined,
    ciphertext: sealed?.ciphertext,
    keyId: sealed?.keyId,
    labels: [],
    modified: Date.now(),
    user: ctx.identityArn,
    description: req.description ?? previous?.description,
    tier,
    dataType: req.dataType ?? 'text',
    allowedPattern: req.allowedPattern,
  };
  parameter.versions.push(version);
  if (parameter.versions.length > VERSIONS_KEPT) parameter.versions.shift();
  ctx.state.parameters.set(parameterKey(req.name), parameter);
  return { version: version.version, tier };
}

function isValidLabel(label: string): boolean {
  return label.length <= 100 && /^[a-zA-Z0-9_.-]+$/.test(label) && !/^\d/.test(label) && !/^(aws|ssm)/i.test(label);
}

/** Moves each label to `versionNumber`; invalid labels are reported, not applied. */
export function labelVersion(parameter: Parameter, versionNumber: number | undefined, labels: string[]): { invalid: string[]; version: number } {
  const target = versionNumber === undefined ? latestVersion(parameter) : parameter.versions.find((v) => v.version === versionNumber);
  if (target === undefined) {
    throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${versionNumber} of ${parameter.name}. Verify the version and try again.`);
  }
  const valid = labels.filter(isValidLabel);
  if (new Set([...target.labels, ...valid]).size > LABELS_PER_VERSION_MAX) {
    throw new AwsError('ParameterVersionLabelLimitExceeded', 'A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.');
  }
  for (const label of valid) {
    for (const v of parameter.versions) v.labels = v.labels.filter((l) => l !== label);
    target.labels.push(label);
  }
  return { invalid: labels.filter((l) => !isValidLabel(l)), version: target.version };
}

export function plainParameter(ctx: CallContext, input: Input, field: string): Parameter {
  const ref = parseRef(ctx.state, requireString(input, field));
  if (ref.selector !== undefined) throw validation(`Parameter name must not include a version or label selector.`);
  return findParameter(ctx.state, ref);
}

export const SSM_WRITE_ACTIONS: Record<string, ActionHandler> = {
  PutParameter: (ctx, input) => {
    const { version, tier } = storeParameter(ctx, {
      name: requireString(input, 'Name'),
      value: requireString(input, 'Value'),
      type: optionalString(input, 'Type'),
      keyId: optionalString(input, 'KeyId'),
      overwrite: optionalBoolean(input, 'Overwrite'),
      tier: optionalString(input, 'Tier'),
      description: optionalString(input, 'Description'),
      tags: optionalTags(input, 'Tags'),
      dataType: optionalString(input, 'DataType'),
      allowedPattern: optionalString(input, 'AllowedPattern'),
    });
    return { Version: version, Tier: tier };
  },
  LabelParameterVersion: (ctx, input) => {
    const labels = optionalStringList(input, 'Labels') ?? [];
    if (labels.length < 1 || labels.length > 10) throw validation('1 validation error detected: Value at \'labels\' failed to satisfy constraint: Member must have length between 1 and 10');
    const result = labelVersion(plainParameter(ctx, input, 'Name'), optionalNumber(input, 'ParameterVersion'), labels);
    return { InvalidLabels: result.invalid, ParameterVersion: result.version };
  },
  DeleteParameter: (ctx, input) => {
    ctx.state.parameters.delete(parameterKey(plainParameter(ctx, input, 'Name').name));
    return {};
  },
  DeleteParameters: (ctx, input) => {
    const deleted: string[] = [];
    const invalid: string[] = [];
    for (const name of optionalStringList(input, 'Names') ?? []) {
      (ctx.state.parameters.delete(parameterKey(name)) ? deleted : invalid).push(name);
    }
    return { DeletedParameters: deleted, InvalidParameters: invalid };
  },
};
