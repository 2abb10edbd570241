// The running emulator's parts shared by the request handlers: state, faults, log, shutdown signal.
import { setTimeout as delay } from 'node:timers/promises';
import { createFaults, type Faults } from './faults.ts';
import type { State } from './store.ts';

export type Service = 'ssm' | 'kms' | 'imds' | 'control';

export interface RequestRecord {
  service: Service;
  action: string;
  /** HTTP status answered; 0 when the connection was dropped without an answer. */
  status: number;
  /** The AWS error type answered (ThrottlingException…), or 'reset' for a dropped connection. */
  error?: string;
}

export interface Runtime {
  state: State;
  faults: Faults;
  log: RequestRecord[];
  /** Aborted by stop(), so injected delays end with the server. */
  closing: AbortController;
}

export function createRuntime(state: State): Runtime {
  return { state, faults: createFaults(), log: [], closing: new AbortController() };
}

/** An injected delay; rejects when the emulator stops. */
export async function pause(rt: Runtime, ms: number): Promise<void> {
  if (ms > 0) await delay(ms, undefined, { signal: rt.closing.signal });
}

export function record(rt: Runtime, service: Service, action: string): RequestRecord {
  const entry: RequestRecord = { service, action, status: 0 };
  rt.log.push(entry);
  return entry;
}
