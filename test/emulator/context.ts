// What every action handler gets: the state, who is calling, and the deny list they are subject to.
import type { State } from './store.ts';

export interface CallContext {
  state: State;
  /** arn:aws:iam::…:user/… or arn:aws:sts::…:assumed-role/<role>/<instance>. */
  identityArn: string;
  /** True when fault injection denies this IAM action (e.g. 'kms:Decrypt') to the caller. */
  isDenied(action: string): boolean;
}

export type ActionHandler = (ctx: CallContext, input: Record<string, unknown>) => unknown;

/** The AccessDenied message IAM gives when no policy allows an action. */
export function accessDeniedMessage(identityArn: string, action: string, resource: string): string {
  return `User: ${identityArn} is not authorized to perform: ${action} on resource: ${resource} ` +
    `because no identity-based policy allows the ${action} action`;
}
