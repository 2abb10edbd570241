// The /_emulator/* JSON control API, so other processes (VM tests, the demo) can drive the emulator.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkFaultSpec } from './fault-check.ts';
import { deleteKeyNow, findKey } from './kms-keys.ts';
import { record, type Runtime } from './runtime.ts';
import { applySeed, setKeyState, type SeedSpec } from './seed.ts';
import { clearData, latestVersion, STATIC_ACCESS_KEY_ID, STATIC_SECRET_ACCESS_KEY, type KeyState } from './store.ts';

const KEY_STATES: readonly KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'];

function reply(res: ServerResponse, status: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
  return status;
}

/** Parse errors are reported without quoting the body: a seed body holds secret values. */
function parseObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown = {};
  try {
    if (body.length > 0) parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
  return parsed as Record<string, unknown>;
}

/** Summaries only: names, versions, types, labels. Never a value. */
function listParameters(rt: Runtime): unknown {
  return [...rt.state.parameters.values()].map((p) => {
    const latest = latestVersion(p);
    return { name: p.name, type: latest.type, version: latest.version, labels: p.versions.flatMap((v) => v.labels.map((l) => `${l}=${v.version}`)) };
  });
}

function listKeys(rt: Runtime): unknown {
  return [...rt.state.keys.values()].map((k) => ({
    keyId: k.keyId, arn: k.arn, state: k.state, origin: k.origin, manager: k.manager,
    aliases: [...rt.state.aliases.values()].filter((a) => a.keyId === k.keyId).map((a) => a.name),
  }));
}

function dispatch(rt: Runtime, method: string, path: string, body: Buffer, res: ServerResponse): number {
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET /_emulator/health':
      return reply(res, 200, { ok: true, region: rt.state.region, accountId: rt.state.accountId });
    case 'GET /_emulator/info':
      return reply(res, 200, {
        region: rt.state.region, accountId: rt.state.accountId, role: rt.state.role, instanceId: rt.state.instanceId,
        credentials: { accessKeyId: STATIC_ACCESS_KEY_ID, secretAccessKey: STATIC_SECRET_ACCESS_KEY },
      });
    case 'GET /_emulator/faults':
      return reply(res, 200, rt.faults.current());
    case 'POST /_emulator/faults':
      rt.faults.set(checkFaultSpec(parseObject(body)));
      return reply(res, 200, rt.faults.current());
    case 'DELETE /_emulator/faults':
      rt.faults.reset();
      return reply(res, 200, {});
    case 'POST /_emulator/reset':
      clearData(rt.state);
      rt.faults.reset();
      rt.log.length = 0;
      return reply(res, 200, {});
    case 'POST /_emulator/seed':
      return reply(res, 200, applySeed(rt.state, parseObject(body) as SeedSpec));
    case 'GET /_emulator/requests':
      return reply(res, 200, rt.log);
    case 'DELETE /_emulator/requests':
      rt.log.length = 0;
      return reply(res, 200, {});
    case 'GET /_emulator/parameters':
      return reply(res, 200, listParameters(rt));
    case 'GET /_emulator/keys':
      return reply(res, 200, listKeys(rt));
    case 'POST /_emulator/keys/state': {
      const { keyId, state } = parseObject(body);
      if (typeof keyId !== 'string' || !KEY_STATES.includes(state as KeyState)) {
        return reply(res, 400, { error: `need {"keyId": string, "state": one of ${KEY_STATES.join('|')}}` });
      }
      setKeyState(rt.state, keyId, state as KeyState);
      return reply(res, 200, { keyId, state });
    }
    case 'POST /_emulator/keys/delete': {
      const { keyId } = parseObject(body);
      if (typeof keyId !== 'string') return reply(res, 400, { error: 'need {"keyId": string}' });
      deleteKeyNow(rt.state, findKey(rt.state, keyId));
      return reply(res, 200, { keyId });
    }
  }
  return reply(res, 404, { error: `no control route ${route}` });
}

/** Logged after answering, so GET /_emulator/requests does not list itself half-done. */
export function handleControl(rt: Runtime, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
  let status: number;
  try {
    status = dispatch(rt, req.method ?? 'GET', path, body, res);
  } catch (err) {
    status = reply(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
  record(rt, 'control', path.slice('/_emulator/'.length)).status = status;
}
