import { type AddressInfo, createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now; used when a service is configured with port 0 (tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
