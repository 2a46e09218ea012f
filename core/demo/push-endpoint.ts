/**
 * A simulated plant system that is called instead of calling (docs/push.md): an HTTP endpoint on
 * 127.0.0.1 that a push consumer delivers to. It books each message once, by its
 * `Sluice-Message-Id` (push is at-least-once; a careful receiver drops repeats), and can go down
 * (connections refused) and come back on the same port.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export class PushEndpoint {
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly seen = new Set<string>();
  /** Requests answered, repeats included. */
  requests = 0;

  /** `onMessage` gets each message's body once. */
  constructor(private readonly onMessage: (body: string) => void) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/sap/orders`;
  }
  get isUp(): boolean {
    return this.server !== null;
  }

  async up(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests++;
        const id = String(req.headers['sluice-message-id'] ?? '');
        if (!this.seen.has(id)) {
          this.seen.add(id);
          this.onMessage(Buffer.concat(chunks).toString('utf8'));
        }
        res.writeHead(204).end();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
