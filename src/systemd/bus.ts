// The only D-Bus code (and the only dbus-next import): a connection to systemd where every wait is bounded.
import type { Socket } from 'node:net';
import { DBusError, Message, Variant, sessionBus, type MessageBus } from '@particle/dbus-next';
import { UnlockError } from '../errors.ts';
import { createSystemdBus, type SystemdBus } from './manager.ts';

export type { SystemdBus, UnitState } from './manager.ts';

/** The system bus, then systemd's private socket (root only; the only one up before dbus.socket). */
export const DEFAULT_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket;unix:path=/run/systemd/private';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** sd-bus's default method call timeout (BUS_DEFAULT_TIMEOUT). */
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;
/** What `systemctl daemon-reload` allows: generators may take their own 90 s timeout (systemctl-daemon-reload.c). */
export const DEFAULT_RELOAD_TIMEOUT_MS = 180_000;

export interface ConnectOptions {
  /** Per address: socket connect, authentication and Hello. */
  timeoutMs?: number;
  /** Every method call. */
  callTimeoutMs?: number;
  /** Manager.Reload, which returns only when the reload (and the generators) finished. */
  reloadTimeoutMs?: number;
  /** D-Bus address list, `;`-separated, tried in order. */
  address?: string;
}

export interface CallRequest {
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  timeoutMs?: number;
}

/** A connected peer that answers calls addressed to org.freedesktop.systemd1. */
export interface BusConnection {
  /** The reply body, with Variants unwrapped. Rejects with UnlockError (SYSTEM, or PERMISSION when denied). */
  call(request: CallRequest): Promise<unknown[]>;
  /** The D-Bus error name (org.freedesktop.systemd1.NoUnitForPID…) behind a rejection of `call`. */
  errorName(error: unknown): string | undefined;
  close(): void;
}

const DESTINATION = 'org.freedesktop.systemd1';

/**
 * Connects to systemd, or resolves undefined when no address answers in time (a chroot or container build,
 * early boot without root): callers degrade. Never rejects, never leaves a socket open behind it.
 */
export async function connectSystemd(opts: ConnectOptions = {}): Promise<SystemdBus | undefined> {
  const addresses = (opts.address ?? DEFAULT_BUS_ADDRESS).split(';').filter((a) => a !== '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  for (const address of addresses) {
    const connection = await openConnection(address, timeoutMs, opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    if (connection && (await systemdAnswers(connection, timeoutMs))) {
      return createSystemdBus(connection, { reloadTimeoutMs: opts.reloadTimeoutMs ?? DEFAULT_RELOAD_TIMEOUT_MS });
    }
  }
  return undefined;
}

/** A bus without systemd on it (a container running only dbus-daemon) counts as no bus; closes it then. */
async function systemdAnswers(connection: BusConnection, timeoutMs: number): Promise<boolean> {
  try {
    await connection.call({ path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.DBus.Peer', member: 'Ping', timeoutMs });
    return true;
  } catch {
    connection.close();
    return false;
  }
}

function busErrorName(error: unknown): string | undefined {
  const cause = error instanceof UnlockError ? error.cause : undefined;
  return cause instanceof DBusError ? cause.type : undefined;
}

function openConnection(address: string, timeoutMs: number, callTimeoutMs: number): Promise<BusConnection | undefined> {
  let bus: MessageBus;
  try {
    bus = sessionBus({ busAddress: address, authMethods: ['EXTERNAL'] });
  } catch {
    return Promise.resolve(undefined);
  }
  // dbus-next emits no event when the socket closes: pending calls would hang forever (systemd-facts 15).
  const stream = (bus as unknown as { _connection?: { stream?: Socket } })._connection?.stream;
  const failures = new Set<(error: Error) => void>();
  let lost: Error | undefined;
  const lose = (error: Error): void => {
    lost ??= error;
    for (const fail of failures) fail(lost);
  };
  const close = (): void => {
    lose(new Error('connection closed by luks-ssm'));
    bus.disconnect();
    stream?.destroy();
  };
  return new Promise((resolve) => {
    let settled = false;
    const settle = (connection: BusConnection | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      failures.delete(onLost);
      if (!connection) close();
      resolve(connection);
    };
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    const onLost = (): void => settle(undefined);
    failures.add(onLost);
    const connection: BusConnection = {
      call: (request) => callBounded(bus, request, callTimeoutMs, failures, () => lost),
      errorName: busErrorName,
      close,
    };
    // The 'error' listener comes first: without one an unreachable bus crashes the process.
    bus.on('error', (error: unknown) => {
      // systemd's private socket is peer-to-peer and rejects the bus Hello: an answer, so it is connected.
      if (error instanceof DBusError) settle(connection);
      else lose(error instanceof Error ? error : new Error(String(error)));
    });
    bus.on('connect', () => settle(connection));
    stream?.on('close', () => lose(new Error('connection to the service manager closed')));
  });
}

function callBounded(bus: MessageBus, request: CallRequest, defaultTimeoutMs: number, failures: Set<(error: Error) => void>, lost: () => Error | undefined): Promise<unknown[]> {
  const what = `${request.interface}.${request.member}`;
  const timeoutMs = request.timeoutMs ?? defaultTimeoutMs;
  return new Promise((resolve, reject) => {
    const done = (error: unknown, body?: unknown[]): void => {
      clearTimeout(timer);
      failures.delete(onLost);
      if (error === undefined) resolve((body ?? []).map(unwrap));
      else reject(callError(what, error));
    };
    const onLost = (error: Error): void => done(error);
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const already = lost();
    if (already) return done(already);
    failures.add(onLost);
    const message = new Message({ destination: DESTINATION, path: request.path, interface: request.interface, member: request.member, signature: request.signature ?? '', body: request.body ?? [] });
    bus.call(message).then((reply) => done(undefined, reply?.body ?? []), (error: unknown) => done(error ?? new Error('call failed')));
  });
}

function callError(what: string, error: unknown): UnlockError {
  if (error instanceof DBusError) {
    const denied = /AccessDenied|InteractiveAuthorizationRequired/.test(error.type);
    return new UnlockError(denied ? 'PERMISSION' : 'SYSTEM', `Failed to call ${what}: ${error.text} (${error.type})`, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new UnlockError('SYSTEM', `Failed to call ${what}: ${reason}`, { cause: error, retryable: true });
}

/** Variants (a `v`, or the values of an `a{sv}`) become their plain values; BigInt stays BigInt. */
function unwrap(value: unknown): unknown {
  if (value instanceof Variant) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, unwrap(inner)]));
}
