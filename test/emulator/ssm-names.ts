// Parameter references as SSM accepts them: /a/b, a, an ARN, each optionally with :version or :label.
import { AwsError, validation } from './errors.ts';
import { parameterArn, parameterKey, type Parameter, type ParameterVersion, type State } from './store.ts';

export const NAME_MAX = 2048;

export interface ParameterRef {
  /** As the caller wrote it (for messages). */
  raw: string;
  /** The name without selector; for an ARN, the name it points at. */
  name: string;
  selector: { version: number } | { label: string } | undefined;
  /** ':3' or ':prod', as GetParameter echoes it in Parameter.Selector. */
  selectorText: string | undefined;
}

/** SSM's own wording, also used when a read names a parameter with characters no name can have. */
const NAME_RULES = 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of ' +
  'sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_';
const NAME_CHARS = /^[a-zA-Z0-9_.\-/]+$/;

function notFound(raw: string): AwsError {
  return new AwsError('ParameterNotFound', `Parameter ${raw} not found.`);
}

export function parseRef(state: State, raw: string): ParameterRef {
  let rest = raw;
  const arn = /^arn:aws:ssm:([^:]*):([^:]*):parameter(\/.*)$/.exec(raw);
  if (arn) {
    if (arn[1] !== state.region || arn[2] !== state.accountId) throw notFound(raw);
    rest = arn[3];
  }
  const parts = rest.split(':');
  if (parts.length > 2 || parts[0] === '') throw notFound(raw);
  const [name, selectorPart] = parts;
  if (!NAME_CHARS.test(name) || name.length > NAME_MAX) throw validation(NAME_RULES);
  if (selectorPart === undefined) return { raw, name, selector: undefined, selectorText: undefined };
  const selector = /^\d+$/.test(selectorPart) ? { version: Number(selectorPart) } : { label: selectorPart };
  return { raw, name, selector, selectorText: `:${selectorPart}` };
}

export function findParameter(state: State, ref: ParameterRef): Parameter {
  const parameter = state.parameters.get(parameterKey(ref.name));
  if (parameter === undefined) throw notFound(ref.raw);
  return parameter;
}

/** The version a reference selects; an unknown label reads as a missing parameter, as in AWS. */
export function selectVersion(parameter: Parameter, ref: ParameterRef): ParameterVersion {
  const { selector } = ref;
  if (selector === undefined) return parameter.versions.at(-1) as ParameterVersion;
  if ('version' in selector) {
    const found = parameter.versions.find((v) => v.version === selector.version);
    if (found === undefined) {
      throw new AwsError('ParameterVersionNotFound', `Systems Manager could not find version ${selector.version} of ${parameter.name}. Verify the version and try again.`);
    }
    return found;
  }
  const labelled = parameter.versions.find((v) => v.labels.includes(selector.label));
  if (labelled === undefined) throw notFound(ref.raw);
  return labelled;
}

/** PutParameter's name rules (the messages are SSM's). */
export function validateNewName(name: string): void {
  const reserved = /^\/?(aws|ssm)/i.test(name);
  if (!NAME_CHARS.test(name) || reserved || name.length > NAME_MAX || name.includes('//')) throw validation(NAME_RULES);
  if (name.includes('/') && !name.startsWith('/')) throw validation('Parameter name must be a fully qualified name.');
}

export function arnOfRef(state: State, ref: ParameterRef): string {
  return parameterArn(state, ref.name);
}
