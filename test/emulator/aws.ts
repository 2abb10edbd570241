// The SSM/KMS request pipeline: faults, SigV4, throttling, IAM denials, then the action itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessDeniedMessage, type ActionHandler, type CallContext } from './context.ts';
import { AwsError, sendAwsError, sendJson } from './errors.ts';
import { KMS_ACTIONS } from './kms.ts';
import { resourceOf } from './resources.ts';
import { pause, record, type Runtime } from './runtime.ts';
import { verifySignature } from './sigv4.ts';
import { SSM_ACTIONS } from './ssm.ts';
import type { Input } from './input.ts';

const SERVICES: Record<string, { service: 'ssm' | 'kms'; actions: Record<string, ActionHandler> }> = {
  AmazonSSM: { service: 'ssm', actions: SSM_ACTIONS },
  TrentService: { service: 'kms', actions: KMS_ACTIONS },
};

function serverError(service: 'ssm' | 'kms', status: 500 | 503): AwsError {
  if (status === 503) return new AwsError('ServiceUnavailable', 'Service Unavailable', 503);
  return service === 'ssm'
    ? new AwsError('InternalServerError', 'An error occurred on the server side.', 500)
    : new AwsError('KMSInternalException', 'The request was rejected because an internal exception occurred.', 500);
}

/** An emulator bug: told on stderr, answered the way AWS answers its own unknown failures. */
function internalFailure(err: unknown): AwsError {
  process.stderr.write(`emulator: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
  return new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
}

function parseInput(body: Buffer): Input {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AwsError('SerializationException', 'Expected a JSON object.');
  return parsed as Input;
}

function answer(rt: Runtime, req: IncomingMessage, body: Buffer, service: 'ssm' | 'kms', action: string, handler: ActionHandler | undefined): unknown {
  const now = Date.now();
  const caller = verifySignature(rt.state, { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, service, now);
  if (caller.sessionToken !== undefined && rt.faults.current().expireSessions === true) {
    throw new AwsError('ExpiredTokenException', 'The security token included in the request is expired');
  }
  if (rt.faults.takeThrottle(service, now)) throw new AwsError('ThrottlingException', 'Rate exceeded');
  const status = rt.faults.takeServerError(service, action);
  if (status !== undefined) throw serverError(service, status);
  if (handler === undefined) throw new AwsError('UnknownOperationException', '');
  const input = parseInput(body);
  const iamAction = `${service}:${action}`;
  if (rt.faults.isDenied(iamAction)) {
    throw new AwsError('AccessDeniedException', accessDeniedMessage(caller.identityArn, iamAction, resourceOf(rt.state, service, input)));
  }
  const ctx: CallContext = { state: rt.state, identityArn: caller.identityArn, isDenied: (a) => rt.faults.isDenied(a) };
  return handler(ctx, input);
}

export async function handleAws(rt: Runtime, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const [prefix, action = ''] = target.split('.');
  const known = SERVICES[prefix];
  const entry = record(rt, known?.service ?? 'ssm', action || target);
  if (known === undefined) {
    entry.status = 400;
    entry.error = 'UnknownOperationException';
    return sendAwsError(res, new AwsError('UnknownOperationException', ''), 'ssm');
  }
  if (rt.faults.takeReset(known.service, action)) {
    entry.error = 'reset';
    req.socket.destroy();
    return;
  }
  await pause(rt, rt.faults.latencyFor(known.service, action));
  const mutation = rt.faults.takeMutation(known.service, action);
  try {
    const output = answer(rt, req, body, known.service, action, known.actions[action]);
    entry.status = 200;
    sendJson(res, 200, output, {}, mutation);
  } catch (err) {
    const failure = err instanceof AwsError ? err : internalFailure(err);
    entry.status = failure.status;
    entry.error = failure.type;
    sendAwsError(res, failure, known.service, mutation);
  }
}
