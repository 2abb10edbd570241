// AWS JSON 1.1 error shapes, so the real SDK raises its real exception classes from our responses.
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mutateBytes, type MutationOp } from './mutate.ts';

/** A mutateBody fault's edits for one answer (see faults.ts). */
export type Mutation = { ops: MutationOp[]; keepLength: boolean } | undefined;

/** An error the emulator answers with: `type` becomes `__type` and x-amzn-ErrorType. */
export class AwsError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, message: string, status = 400) {
    super(message);
    this.name = 'AwsError';
    this.type = type;
    this.status = status;
  }
}

export const JSON_11 = 'application/x-amz-json-1.1';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, mutation?: Mutation): void {
  sendBody(res, status, Buffer.from(JSON.stringify(body)), { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID(), ...headers }, mutation);
}

/** Writes an answer, its bytes edited when a mutateBody fault applies (Content-Length then follows the edit unless keepLength). */
export function sendBody(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string>, mutation?: Mutation): void {
  const bytes = mutation ? mutateBytes(body, mutation.ops) : body;
  const announced = mutation?.keepLength ? body.length : bytes.length;
  res.writeHead(status, { ...headers, 'content-length': String(announced) });
  if (bytes.length > announced) {
    // More bytes than announced: Node's http would refuse to write them, so they go on the raw socket.
    res.flushHeaders();
    res.socket?.end(bytes);
    return;
  }
  if (bytes.length < announced) {
    res.write(bytes);
    res.socket?.destroySoon();
    return;
  }
  res.end(bytes);
}

/** SSM models these errors with a capitalised `Message` member, and AWS serialises them that way. */
const SSM_CAPITAL_MESSAGE = new Set(['AccessDeniedException', 'InternalServerError', 'ThrottlingException', 'ValidationException', 'InvalidNextToken']);

export function sendAwsError(res: ServerResponse, err: AwsError, service: string, mutation?: Mutation): void {
  const key = service === 'ssm' && SSM_CAPITAL_MESSAGE.has(err.type) ? 'Message' : 'message';
  sendJson(res, err.status, { __type: err.type, [key]: err.message }, { 'x-amzn-errortype': err.type }, mutation);
}

/**
 * How SSM reports a failed call it made to KMS on the caller's behalf: KMS's own message with the
 * Java SDK's suffix, as seen in real responses (e.g. hashicorp/terraform-provider-aws#27352).
 */
export function wrapKmsMessage(kmsError: AwsError): string {
  return `${kmsError.message} (Service: AWSKMS; Status Code: ${kmsError.status}; Error Code: ${kmsError.type}; ` +
    `Request ID: ${randomUUID()}; Proxy: null)`;
}

export function validation(message: string): AwsError {
  return new AwsError('ValidationException', message);
}
