/**
 * MCP's Streamable HTTP transport at `/mcp` on the HTTP listener. The HTTP door authenticates
 * each request exactly as for the REST API and hands over its call context; here it becomes the
 * `mcp` principal of that request. Sessions are the SDK's (Mcp-Session-Id); a session belongs
 * to the user who opened it (DESIGN.md: state has an owner) — another user presenting its id is
 * told it does not exist. Sessions are bounded in number and closed when idle.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallContext, Service } from '../../api/service.ts';
import { SluiceError } from '../../errors.ts';
import type { ResultLimits } from './results.ts';
import { createMcpSession, type McpSession } from './server.ts';

/** How the /mcp endpoint is set up. */
export interface McpHttpOptions {
  readonly version: string;
  /**
   * Largest request body: config http.maxBodyBytes, but at most 4 MiB — an agent's requests are
   * small, and a large payload is published over the REST API or a protocol door.
   */
  readonly maxBodyBytes: number;
  /** Open sessions at most (default 64); a new one beyond that is refused with 503. */
  readonly maxSessions?: number;
  /** A session with no request for this long is closed (default 1 h). */
  readonly idleMs?: number;
  readonly limits?: ResultLimits;
  /** Subscription polling interval (default 1 s). */
  readonly pollMs?: number;
}

/** The /mcp endpoint: answer a request (already authenticated), close every session. */
export interface McpHttp {
  handle(req: IncomingMessage, res: ServerResponse, context: CallContext): Promise<void>;
  close(): Promise<void>;
}

interface OpenSession {
  readonly owner: string | null;
  readonly transport: StreamableHTTPServerTransport;
  readonly session: McpSession;
  lastSeenAt: number;
}

type AuthenticatedRequest = IncomingMessage & {
  auth?: { token: string; clientId: string; scopes: string[]; extra: { context: CallContext } };
};

/** Creates the /mcp endpoint over the service. */
export function createMcpHttp(service: Service, options: McpHttpOptions): McpHttp {
  const sessions = new Map<string, OpenSession>();
  const maxBodyBytes = Math.min(options.maxBodyBytes, 4 * 1024 * 1024);
  const maxSessions = options.maxSessions ?? 64;
  const idleMs = options.idleMs ?? 60 * 60 * 1000;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, open] of sessions) if (now - open.lastSeenAt > idleMs) void close(id, open);
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();

  const close = async (id: string, open: OpenSession) => {
    sessions.delete(id);
    open.session.stop();
    await open.transport.close().catch(() => undefined);
  };

  const newSession = (): OpenSession['transport'] & { sluiceSession: McpSession } => {
    const session = createMcpSession(service, {
      version: options.version,
      contextOf: (extra) => (extra.authInfo?.extra as { context?: CallContext } | undefined)?.context ?? deny(),
      ...(options.limits && { limits: options.limits }),
      ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined) sessions.delete(id);
      session.stop();
    };
    return Object.assign(transport, { sluiceSession: session });
  };

  return {
    async handle(req, res, context) {
      // A browser page from another origin must not drive the agent door (MCP transport security).
      const origin = header(req, 'origin');
      if (origin !== undefined && originHost(origin) !== req.headers.host)
        throw new SluiceError('not-authorized', `Requests to /mcp from the web origin ${origin} are refused`);
      const principal = { ...context.principal, protocol: 'mcp' };
      const mcpContext: CallContext = { ...context, principal };
      (req as AuthenticatedRequest).auth = {
        token: '',
        clientId: principal.user ?? 'anonymous',
        scopes: [],
        extra: { context: mcpContext },
      };
      const body = req.method === 'POST' ? parseBody(await readBody(req, maxBodyBytes)) : undefined;
      const id = header(req, 'mcp-session-id');
      if (id !== undefined) {
        const open = sessions.get(id);
        if (!open || open.owner !== principal.user) return sessionNotFound(res);
        open.lastSeenAt = Date.now();
        await open.transport.handleRequest(req, res, body);
        if (req.method === 'DELETE') await close(id, open);
        return;
      }
      if (sessions.size >= maxSessions)
        throw new SluiceError(
          'limit-reached',
          `Too many MCP sessions are open (${maxSessions}); close one (DELETE /mcp) or wait for idle ones to end`,
        );
      // No session yet: only an initialize request may open one; the SDK answers anything else 400.
      const transport = newSession();
      await transport.sluiceSession.server.connect(transport);
      await transport.handleRequest(req, res, body);
      const opened = transport.sessionId;
      if (opened === undefined) {
        transport.sluiceSession.stop();
        await transport.close().catch(() => undefined);
        return;
      }
      sessions.set(opened, {
        owner: principal.user,
        transport,
        session: transport.sluiceSession,
        lastSeenAt: Date.now(),
      });
    },
    async close() {
      clearInterval(sweeper);
      await Promise.all([...sessions].map(([id, open]) => close(id, open)));
    },
  };
}

function deny(): never {
  throw new SluiceError('not-authenticated', 'This MCP request carries no authenticated caller');
}

function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The SDK's own answer to an unknown session: the client then opens a new one. */
function sessionNotFound(res: ServerResponse): void {
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads a request body, refusing more than `limitBytes` (413) as the REST API does. */
async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new SluiceError(
      'payload-too-large',
      `The MCP request body is over ${limitBytes} bytes (at most config http.maxBodyBytes, and 4 MiB)`,
      {
        limitBytes,
      },
    );
  if (Number(req.headers['content-length'] ?? 0) > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limitBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SluiceError('invalid-input', `The MCP request body is not valid JSON: ${(error as Error).message}`);
  }
}
