// AWS JSON 1.1 error shapes, so the real SDK raises its real exception classes from our responses.
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

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

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': JSON_11,
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

/** SSM models these errors with a capitalised `Message` member, and AWS serialises them that way. */
const SSM_CAPITAL_MESSAGE = new Set(['AccessDeniedException', 'InternalServerError', 'ThrottlingException', 'ValidationException', 'InvalidNextToken']);

export function sendAwsError(res: ServerResponse, err: AwsError, service: string): void {
  const key = service === 'ssm' && SSM_CAPITAL_MESSAGE.has(err.type) ? 'Message' : 'message';
  sendJson(res, err.status, { __type: err.type, [key]: err.message }, { 'x-amzn-errortype': err.type });
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
