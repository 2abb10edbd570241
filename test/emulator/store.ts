// The emulator's whole mutable state in one place, so reset and seed have one thing to rebuild.
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';

export interface KmsKey {
  keyId: string;
  arn: string;
  /** 32 bytes of AES-256 key material; undefined for an EXTERNAL key never given material. */
  material: Buffer | undefined;
  state: KeyState;
  description: string;
  origin: 'AWS_KMS' | 'EXTERNAL';
  manager: 'CUSTOMER' | 'AWS';
  created: number;
  deletionDate?: number;
  pendingWindowInDays?: number;
}

export interface KmsAlias {
  name: string;
  keyId: string;
  created: number;
}

export interface ParameterVersion {
  version: number;
  type: 'String' | 'StringList' | 'SecureString';
  /** Plain value for String/StringList; undefined for SecureString (only the ciphertext is kept). */
  value: string | undefined;
  /** KMS ciphertext blob of a SecureString, under `keyId` with context {PARAMETER_ARN: arn}. */
  ciphertext: Buffer | undefined;
  /** The KeyId as the caller gave it (real SSM echoes e.g. alias/aws/ssm). */
  keyId: string | undefined;
  labels: string[];
  modified: number;
  user: string;
  description: string | undefined;
  tier: string;
  dataType: string;
  allowedPattern: string | undefined;
}

export interface Parameter {
  name: string;
  versions: ParameterVersion[];
  tags: Map<string, string>;
}

export interface KnownCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | undefined;
  /** Epoch ms after which the session is expired; undefined for a long-term pair. */
  expiration: number | undefined;
  /** Who the caller is, for AccessDenied messages. */
  identityArn: string;
}

export interface State {
  region: string;
  accountId: string;
  role: string;
  instanceId: string;
  keys: Map<string, KmsKey>;
  aliases: Map<string, KmsAlias>;
  /** Keyed by parameter name without its leading slash: /a and a are one parameter, as their ARNs are one. */
  parameters: Map<string, Parameter>;
  /** Long-term pairs; session credentials are checked statelessly (sealed.ts). */
  credentials: Map<string, KnownCredentials>;
  /** The role credentials IMDS currently hands out (rotated once expired). */
  imdsCredentials: KnownCredentials | undefined;
}

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '111122223333';
export const DEFAULT_ROLE = 'luks-ssm-test-role';
export const DEFAULT_INSTANCE_ID = 'i-0123456789abcdef0';

/** The static pair every emulator accepts (documentation-style example values, never real). */
export const STATIC_ACCESS_KEY_ID = 'AKIAEMULATOR0EXAMPLE';
export const STATIC_SECRET_ACCESS_KEY = 'emulatorSecretKey/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const STATIC_USER = 'luks-ssm-test';

export function createState(region: string, accountId: string): State {
  const state: State = {
    region,
    accountId,
    role: DEFAULT_ROLE,
    instanceId: DEFAULT_INSTANCE_ID,
    keys: new Map(),
    aliases: new Map(),
    parameters: new Map(),
    credentials: new Map(),
    imdsCredentials: undefined,
  };
  state.credentials.set(STATIC_ACCESS_KEY_ID, {
    accessKeyId: STATIC_ACCESS_KEY_ID,
    secretAccessKey: STATIC_SECRET_ACCESS_KEY,
    sessionToken: undefined,
    expiration: undefined,
    identityArn: `arn:aws:iam::${accountId}:user/${STATIC_USER}`,
  });
  return state;
}

export function parameterKey(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

export function parameterArn(state: State, name: string): string {
  return `arn:aws:ssm:${state.region}:${state.accountId}:parameter/${parameterKey(name)}`;
}

export function latestVersion(parameter: Parameter): ParameterVersion {
  const last = parameter.versions.at(-1);
  if (last === undefined) throw new Error(`parameter ${parameter.name} has no versions`);
  return last;
}

/**
 * Back to an empty account: no keys, aliases or parameters. Credentials survive, so a client
 * holding IMDS-issued credentials keeps working across tests.
 */
export function clearData(state: State): void {
  state.keys.clear();
  state.aliases.clear();
  state.parameters.clear();
}
