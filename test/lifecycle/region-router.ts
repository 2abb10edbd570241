// Test helper: one loopback endpoint for several emulators, routing each signed request by the region in its SigV4 scope.
// SSM_ENDPOINT applies to every region, so two emulators (two regions) need one URL that serves both.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Emulator } from '../emulator/index.ts';

export interface RegionRouter {
  url: string;
  stop(): Promise<void>;
}

/** "Credential=AKID/20260101/us-west-2/ssm/aws4_request" -> us-west-2. */
function regionOf(authorization: string | undefined): string | undefined {
  return /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(authorization ?? '')?.[1];
}

/** A region whose emulator was stopped answers like a dead endpoint: the connection is dropped. */
export async function startRegionRouter(emulators: Emulator[]): Promise<RegionRouter> {
  const server: Server = createServer((req, res) => {
    const target = emulators.find((e) => e.region === regionOf(req.headers.authorization));
    if (target === undefined) {
      res.writeHead(400).end('no emulator for this region');
      return;
    }
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
