import type { AddressInfo, Server } from 'node:net';

/** Starts `server` listening; resolves with the bound port (useful with port 0), rejects on e.g. EADDRINUSE. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
