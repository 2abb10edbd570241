// One HTTP listener for everything: /_emulator/* control, /latest/* IMDS, POST / for SSM and KMS.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAws } from './aws.ts';
import { handleControl } from './control.ts';
import { sendBody } from './errors.ts';
import { DEFAULT_IMDS_DELAY_MS } from './faults.ts';
import { answerImds, imdsAction } from './imds.ts';
import { pause, record, type Runtime } from './runtime.ts';

/** Larger than any valid SSM/KMS request; a bigger body is refused before parsing. */
const BODY_MAX_BYTES = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_MAX_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function handleImds(rt: Runtime, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  const entry = record(rt, 'imds', imdsAction(method, path));
  const { imds = 'ok', imdsDelayMs = DEFAULT_IMDS_DELAY_MS } = rt.faults.current();
  if (imds === 'absent' || rt.faults.takeReset('imds', entry.action)) {
    entry.error = 'reset';
    req.socket.destroy();
    return;
  }
  await pause(rt, Math.max(rt.faults.latencyFor('imds', entry.action), imds === 'slow' ? imdsDelayMs : 0));
  const answer = imds === 'notfound'
    ? { status: 404, body: 'Not Found', headers: undefined }
    : imds === 'token-refused' && path === '/latest/api/token'
      ? { status: 403, body: 'Forbidden', headers: undefined }
      : answerImds(rt.state, method, path, req.headers, Date.now());
  entry.status = answer.status;
  const mutation = rt.faults.takeMutation('imds', entry.action);
  sendBody(res, answer.status, Buffer.from(answer.body), { 'content-type': 'text/plain', ...answer.headers }, mutation);
}

async function route(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { connection: 'close' }).end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://emulator.invalid').pathname;
  if (path.startsWith('/_emulator/')) return handleControl(rt, req, res, path, body);
  if (path.startsWith('/latest/')) return handleImds(rt, req, res, path);
  if (req.method === 'POST' && req.headers['x-amz-target'] !== undefined) return handleAws(rt, req, res, body);
  res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
}

export function createEmulatorServer(rt: Runtime): Server {
  return createServer((req, res) => {
    route(rt, req, res).catch((err: unknown) => {
      if (rt.closing.signal.aborted) {
        req.socket.destroy();
        return;
      }
      process.stderr.write(`emulator: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal emulator error');
    });
  });
}
