import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the endpoint saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The status it answered with; null when it hung or closed the connection. */
  readonly status: number | null;
}

/** What the endpoint does with one request. */
export type Answer =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: string;
      readonly headers?: Record<string, string>;
    }
  /** Never answers (the push consumer's timeout must fire). */
  | { readonly kind: 'hang' }
  /** Reads the request, then closes the connection without an answer. */
  | { readonly kind: 'destroy' };

/**
 * A real HTTP endpoint on 127.0.0.1 that the tests steer: `behave` picks each request's answer,
 * `down()` closes it (connections refused), `up()` opens it again on the same port.
 */
export class TestEndpoint {
  readonly seen: SeenRequest[] = [];
  behave: (request: { body: string; headers: http.IncomingHttpHeaders; index: number }) => Answer = () => ({
    kind: 'status',
    status: 200,
  });
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/ingest`;
  }

  /** Bodies of the requests answered 2xx, in arrival order. */
  acked(): string[] {
    return this.seen.filter((r) => r.status !== null && r.status < 300).map((r) => r.body);
  }

  async up(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = this.behave({ body, headers: req.headers, index: this.seen.length });
        this.seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          status: answer.kind === 'status' ? answer.status : null,
        });
        if (answer.kind === 'hang') return;
        if (answer.kind === 'destroy') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
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
