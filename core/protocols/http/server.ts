/**
 * The HTTP door: a node:http server whose routes all come from the API contract. Answers JSON,
 * NDJSON for streamed operations, and problem+json for every error; bad input never crashes it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { EventOperationName, StreamOperationName, UnaryOperationName } from '../../api/contract.ts';
import type { CallContext, Service } from '../../api/service.ts';
import { SluiceError, toSluiceError } from '../../errors.ts';
import { authenticateChallenge, requestContext } from './auth.ts';
import { serveEvents, type SseOptions } from './events.ts';
import { buildOpenApi } from './openapi.ts';
import { rawPublishInput } from './publish.ts';
import { rawProblemResponse, sendError, sendProblem, transportProblems } from './problem.ts';
import { assertDeclaredLength, parseJsonObject, queryInput, readBody } from './request.ts';
import { matchRoute, type Route } from './routes.ts';

/**
 * Serves non-API GET requests (the renderer build, later). Return true when it answered;
 * false falls through to 404.
 */
export type StaticFiles = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** How the HTTP listener is set up. */
export interface HttpOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** Reported in the OpenAPI document. */
  readonly version?: string;
  /** Hook for static files (the UI); tried after the API routes. */
  readonly staticFiles?: StaticFiles;
  /** How long close() lets running requests finish before cutting connections. */
  readonly closeGraceMs?: number;
  /** Server-sent events: heartbeat and per-client buffer bound. */
  readonly events?: Partial<SseOptions>;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca?: string };
  /** Answers GET /metrics (Prometheus text); checked like `stats.get` (browse). */
  readonly metrics?: () => string;
  /**
   * Answers /mcp (MCP Streamable HTTP, core/protocols/mcp): called with the request's context,
   * authenticated exactly as for the REST API. Open streams are ended by its owner on close.
   */
  readonly mcp?: (req: IncomingMessage, res: ServerResponse, context: CallContext) => Promise<void>;
}

const defaultSseOptions: SseOptions = { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024 };

/** A running listener: where it is, and how to stop it. */
export interface HttpListener {
  /** Base URL, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, lets running requests finish (up to the grace time), then closes. */
  close(): Promise<void>;
}

const openApiPath = '/api/v1/openapi.json';

/** Starts the HTTP API over a service. */
export async function startHttp(service: Service, options: HttpOptions): Promise<HttpListener> {
  const { logger } = options;
  let openApi: string | undefined; // built on first request: nothing at startup
  const sseOptions: SseOptions = { ...defaultSseOptions, ...options.events };
  /** Open event streams, ended first on close (they never finish on their own). */
  const eventStreams = new Set<() => void>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz')
      return sendJson(res, service.closing ? 503 : 200, { status: service.closing ? 'closing' : 'ready' });
    if (url.pathname === '/metrics' && method === 'GET' && options.metrics) {
      const context = await requestContext(req, service, false);
      await service.call('stats.get', {}, context); // the same permission as stats (browse)
      const text = options.metrics();
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      return void res.end(text);
    }
    if (url.pathname === '/mcp' && options.mcp) return options.mcp(req, res, await requestContext(req, service, false));
    if (url.pathname === openApiPath && method === 'GET') {
      openApi ??= JSON.stringify(buildOpenApi(options.version ?? '0.0.0'));
      return sendJson(res, 200, openApi);
    }
    const match = matchRoute(method, url.pathname);
    if (match.kind === 'found') return runOperation(req, res, match.route, match.params, url);
    if (match.kind === 'wrong-method') {
      const { status, title } = transportProblems['method-not-allowed'];
      const allow = match.allowed.join(', ');
      const detail = `${method} is not allowed on ${url.pathname}; use ${allow}`;
      return sendProblem(res, { status, title, detail, code: 'method-not-allowed' }, { allow });
    }
    if (method === 'GET' && options.staticFiles && (await options.staticFiles(req, res))) return;
    const { status, title } = transportProblems['route-not-found'];
    const detail = `No route for ${method} ${url.pathname}; see GET ${openApiPath}`;
    sendProblem(res, { status, title, detail, code: 'route-not-found' });
  };

  const runOperation = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    params: Record<string, string>,
    url: URL,
  ): Promise<void> => {
    const { name, operation } = route;
    const context = await requestContext(req, service, operation.permission.kind === 'public');
    const jsonBody = route.method !== 'GET' && route.method !== 'DELETE' && operation.http.body !== 'raw';
    const unsupported = jsonBody ? unsupportedMediaType(req) : undefined;
    if (unsupported !== undefined) {
      const { status, title } = transportProblems['unsupported-media-type'];
      const headers: Record<string, string> = req.complete ? {} : { connection: 'close' };
      return sendProblem(res, { status, title, detail: unsupported, code: 'unsupported-media-type' }, headers);
    }
    const fromRequest =
      route.method === 'GET' || route.method === 'DELETE'
        ? queryInput(operation.input, url.searchParams)
        : operation.http.body === 'raw'
          ? rawPublishInput(req.headers, await readBody(req, options.maxBodyBytes), params.topic ?? '')
          : parseJsonObject(await readBody(req, name.startsWith('auth.') ? authBodyMaxBytes : options.maxBodyBytes));
    const input = { ...fromRequest, ...params }; // the path names the resource; a body cannot override it
    if (operation.response === 'ndjson')
      return streamLines(res, service.stream(name as StreamOperationName, input, context));
    if (operation.response === 'events') {
      let revoked = (): void => {};
      const stream = serveEvents(
        req,
        res,
        (onEvent) => service.subscribe(name as EventOperationName, input, onEvent, context, () => revoked()),
        sseOptions,
      );
      revoked = stream.stop; // rights are live: the stream ends when the caller may no longer read it
      eventStreams.add(stream.stop);
      await stream.done;
      eventStreams.delete(stream.stop);
      return;
    }
    const output = await service.call(name as UnaryOperationName, input, context);
    sendJson(res, operation.http.status ?? 200, output);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => answerError(req, res, error, logger));
  };
  const server: Server = options.tls ? createTlsServer({ ...options.tls }, onRequest) : createServer(onRequest);
  // Refuse an oversized upload before the client sends it (curl waits for 100-continue).
  server.on('checkContinue', (req, res) => {
    try {
      assertDeclaredLength(req, options.maxBodyBytes);
    } catch (error) {
      answerError(req, res, error, logger);
      return;
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Refused by node:http before any handler: still a problem+json answer, never a throw.
    if (!socket.writable) return socket.destroy();
    const answer =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? rawProblemResponse('request-header-fields-too-large', 'The request line and headers exceed 16 KiB')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? rawProblemResponse('request-timeout', 'The request was not received in time')
          : rawProblemResponse(
              'malformed-request',
              `The request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`,
            );
    socket.end(answer);
  });

  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
  logger.info({ url }, 'HTTP API listening');

  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), options.closeGraceMs ?? 2000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const stop of [...eventStreams]) stop();
        server.closeIdleConnections();
      }),
  };
}

function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  // A target like `//x` would parse as a host; only origin-form paths are routed.
  if (!target.startsWith('/') || target.startsWith('//'))
    throw new SluiceError('invalid-input', `"${target}" is not a request path`);
  return new URL(target, 'http://sluice.invalid');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes NDJSON lines with backpressure; stops if the client goes away. */
async function streamLines(res: ServerResponse, lines: Iterable<string>): Promise<void> {
  const iterator = lines[Symbol.iterator]();
  let next = iterator.next(); // before the headers, so a failure can still be a problem answer
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  while (!next.done) {
    if (!res.write(next.value)) {
      await new Promise((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
      if (res.destroyed) {
        iterator.return?.();
        return;
      }
    }
    next = iterator.next();
  }
  res.end();
}

function answerError(req: IncomingMessage, res: ServerResponse, thrown: unknown, logger: Logger): void {
  const error = toSluiceError(thrown);
  if (error.code === 'internal') logger.error({ err: error.cause ?? error, url: req.url }, 'HTTP request failed');
  if (res.headersSent) {
    res.destroy(); // mid-stream: the client sees a cut answer rather than a false end
    return;
  }
  if (error.code === 'payload-too-large' && !req.complete) {
    // The client is still sending: read and drop the rest (bounded) so that it gets to read the
    // 413 instead of failing its write with EPIPE; a body far over the limit is cut.
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > maxDrainBytes) req.socket.destroy();
    });
    req.resume();
    sendError(res, error);
    return;
  }
  // A refused body may still be arriving: close after answering rather than read it all.
  sendError(res, error, {
    ...(req.complete ? {} : { connection: 'close' }),
    ...(error.code === 'not-authenticated' && authenticateChallenge),
  });
}

/** How much of a refused oversize body is read and dropped so that the client sees the 413. */
const maxDrainBytes = 64 * 1024 * 1024;

/** Login and setup carry a user name and a password: a few KiB, checked before anything is parsed. */
const authBodyMaxBytes = 16 * 1024;

/**
 * A JSON operation's body. Its media type must be JSON: browsers send text/plain, form and
 * multipart bodies cross-site without asking (CSRF), so those are refused (415) — except the
 * form type without an Origin header, which is what `curl -d` sends (a browser always sends Origin
 * on a cross-site POST).
 */
function unsupportedMediaType(req: IncomingMessage): string | undefined {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const json = type === '' || type === 'application/json' || type.endsWith('+json');
  const curlForm = type === 'application/x-www-form-urlencoded' && req.headers.origin === undefined;
  if (json || curlForm) return undefined;
  return `This operation takes a JSON body (content-type: application/json), not ${type}`;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(
        new SluiceError('invalid-config', `Cannot listen on ${host}:${port} (http): ${error.code ?? error.message}`),
      );
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
