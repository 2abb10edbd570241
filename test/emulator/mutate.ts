// Mutated response bodies for fuzzing: the fault `mutateBody` edits the bytes of the next answers.
import type { Match } from './faults.ts';

/**
 * One edit at a relative position `at` in [0, 1) of the body: flip a byte (xor), insert a byte, delete
 * `count` bytes, cut the body there, or grow it by `count` copies of `byte` (an oversized answer). `keepLength` keeps the original Content-Length, so the client
 * sees a body shorter or longer than announced (a truncated or oversized answer).
 */
export interface MutationOp {
  kind: 'flip' | 'insert' | 'delete' | 'cut' | 'grow';
  at: number;
  byte?: number;
  count?: number;
}

export interface MutateBodySpec {
  ops: MutationOp[];
  /** Default: every SSM, KMS and IMDS answer. */
  match?: Match;
  /** How many answers to mutate (default: all until the fault is cleared). */
  count?: number;
  keepLength?: boolean;
}

export function mutateBytes(body: Buffer, ops: MutationOp[]): Buffer {
  let bytes = Buffer.from(body);
  for (const op of ops) {
    const at = Math.min(bytes.length, Math.floor(Math.max(0, Math.min(op.at, 0.999_999)) * (bytes.length + 1)));
    if (op.kind === 'flip' && at < bytes.length) bytes[at] = bytes[at]! ^ ((op.byte ?? 1) || 1);
    else if (op.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([(op.byte ?? 0) & 0xff]), bytes.subarray(at)]);
    else if (op.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + Math.max(1, op.count ?? 1))]);
    else if (op.kind === 'cut') bytes = bytes.subarray(0, at);
    else if (op.kind === 'grow') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.alloc(Math.max(1, op.count ?? 1), op.byte ?? 0x20), bytes.subarray(at)]);
  }
  return bytes;
}

const KINDS = new Set(['flip', 'insert', 'delete', 'cut', 'grow']);

/** For fault-check.ts: throws a message naming what is wrong. */
export function checkMutateBody(v: unknown): void {
  if (v === null) return;
  const spec = v as Partial<MutateBodySpec>;
  const okOp = (op: unknown): boolean => {
    const o = op as MutationOp;
    return typeof o === 'object' && o !== null && KINDS.has(o.kind) && typeof o.at === 'number' && o.at >= 0 && o.at <= 1;
  };
  if (typeof spec !== 'object' || !Array.isArray(spec.ops) || !spec.ops.every(okOp)) {
    throw new Error('fault "mutateBody" must be {ops: [{kind: flip|insert|delete|cut|grow, at: 0..1, byte?, count?}], match?, count?, keepLength?} or null');
  }
}
