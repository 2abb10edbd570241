// The AWS side of a VM run: the project's emulator on 127.0.0.1 (the guest reaches it as 10.0.2.2:<port>).
import { createServer, type Server } from 'node:net';

/** The part of test/emulator's Emulator API the VM scenarios use. */
export interface VmEmulator {
  url: string;
  port: number;
  region: string;
  createKey(opts?: { alias?: string; description?: string }): { keyId: string; arn: string };
  putParameter(name: string, value: string, opts?: { keyId?: string; type?: 'String' | 'SecureString' }): { version: number };
  requests(): Array<{ service: string; action: string; status: number }>;
  stop(): Promise<void>;
}

type StartEmulator = (opts?: { port?: number; host?: '127.0.0.1' }) => Promise<VmEmulator>;

// A variable, not a literal: the emulator is written concurrently and the harness must still load without it.
const EMULATOR_MODULE = new URL('../../emulator/index.ts', import.meta.url).href;

/** Starts the project's emulator, on `port` when given (restarting it on the same port after a stop). */
export async function startAwsEmulator(port?: number): Promise<VmEmulator> {
  const module = (await import(EMULATOR_MODULE)) as { startEmulator: StartEmulator };
  return module.startEmulator({ host: '127.0.0.1', ...(port === undefined ? {} : { port }) });
}

/**
 * A bare TCP listener on 127.0.0.1 that accepts and closes connections: what the smoke scenario connects to
 * when the emulator cannot be loaded, so the harness itself can be proven without the product.
 */
export async function startTcpListener(): Promise<{ port: number; stop(): Promise<void> }> {
  const server: Server = createServer((socket) => socket.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('listener has no port');
  return {
    port: address.port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
