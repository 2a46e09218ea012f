/**
 * A typed HTTP client built from the contract: `call(op, input)` knows each operation's method,
 * path, input and output types. Uses fetch only, so the browser renderer can reuse it.
 * Browser-safe: imports only the contract and the error catalog's types.
 */
import type { ErrorCode } from '../errors.ts';
import {
  contract,
  fillPath,
  pathParamNames,
  problemSchema,
  type EventOperationName,
  type OperationInput,
  type OperationName,
  type OperationOutput,
  type StreamOperationName,
  type UnaryOperationName,
} from './contract.ts';

/** A catalog code, or a transport code such as `route-not-found`. */
export type ProblemCode = ErrorCode | 'route-not-found' | 'method-not-allowed' | 'http-error';

/** The broker answered with an error (problem+json): the SluiceError as seen by a client. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status. */
    readonly status: number,
    readonly code: ProblemCode,
    readonly title: string,
    readonly detail: string,
    readonly data?: Readonly<Record<string, unknown>>,
  ) {
    super(`${title}: ${detail}`);
  }
}

/** No answer at all: the broker is not running at that URL, or the network failed. */
export class BrokerUnreachableError extends Error {
  override readonly name = 'BrokerUnreachableError';
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`Cannot reach the broker at ${url}: ${reason}`);
  }
}

/** How the client authenticates: a bearer token (from `auth.login`) or a user name and password (Basic). */
export type ClientAuth = { readonly token: string } | { readonly username: string; readonly password: string };

/** A live subscription started by `subscribe`. */
export interface EventSubscription {
  /** Resolves once the broker accepted the subscription (events flow from then on); rejects with ApiError or BrokerUnreachableError. */
  readonly ready: Promise<void>;
  /** Resolves when the stream ends, from either side; never rejects (a failure before ready rejects `ready`). */
  readonly closed: Promise<void>;
  /** Ends the subscription. */
  close(): void;
}

/** The typed API over HTTP. */
export interface HttpClient {
  readonly baseUrl: string;
  /** Changes the credentials sent with every later request (null: none). */
  setAuth(auth: ClientAuth | null): void;
  /** Runs an operation; rejects with ApiError or BrokerUnreachableError. */
  call<N extends UnaryOperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>>;
  /** Runs a streamed operation, yielding one parsed line at a time. */
  stream<N extends StreamOperationName>(name: N, input: OperationInput<N>): AsyncGenerator<OperationOutput<N>>;
  /**
   * Subscribes to a live event operation over server-sent events (read with fetch streaming,
   * so it works in browsers and Node alike and can carry an Authorization header). No automatic
   * reconnect: when `closed` resolves, subscribe again if you still want events.
   */
  subscribe<N extends EventOperationName>(
    name: N,
    input: OperationInput<N>,
    onEvent: (event: OperationOutput<N>) => void,
  ): EventSubscription;
}

/** A client for the broker at `baseUrl` (e.g. http://127.0.0.1:8080, or '' for same-origin). */
export function createHttpClient(
  baseUrl: string,
  options: { readonly fetch?: typeof fetch; readonly auth?: ClientAuth } = {},
): HttpClient {
  const base = baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  let auth: ClientAuth | null = options.auth ?? null;

  async function send(
    name: OperationName,
    input: unknown,
    extra: { accept?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const { method, path } = contract[name].http;
    const fields: Record<string, unknown> = { ...(input as Record<string, unknown> | undefined) };
    let url = base + fillPath(path, fields);
    for (const param of pathParamNames(path)) delete fields[param];
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    let headers: Record<string, string> = {};
    if (contract[name].http.body === 'raw') ({ body, headers } = rawPublish(fields));
    else if (method === 'GET' || method === 'DELETE') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(fields))
        if (Array.isArray(value)) for (const item of value) query.append(key, String(item));
        else if (value !== undefined) query.set(key, String(value));
      const text = query.toString();
      if (text !== '') url += `?${text}`;
    } else body = JSON.stringify(fields);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: {
          accept: extra.accept ?? 'application/json',
          ...(typeof body === 'string' && { 'content-type': 'application/json' }),
          ...headers,
          ...(auth && { authorization: authorizationHeader(auth) }),
        },
        ...(body !== undefined && { body }),
        ...(extra.signal && { signal: extra.signal }),
      });
    } catch (error) {
      throw new BrokerUnreachableError(base || '(same origin)', networkReason(error));
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  return {
    baseUrl: base,
    setAuth(next) {
      auth = next;
    },
    async call(name, input) {
      const response = await send(name, input);
      return (await response.json()) as OperationOutput<typeof name>;
    },
    async *stream(name, input) {
      const response = await send(name, input);
      if (!response.body) return;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      for (;;) {
        const { done, value } = await reader.read();
        buffered += decoder.decode(value, { stream: !done });
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') yield JSON.parse(line) as OperationOutput<typeof name>;
        if (done) break;
      }
      if (buffered.trim() !== '') yield JSON.parse(buffered) as OperationOutput<typeof name>;
    },
    subscribe(name, input, onEvent) {
      const abort = new AbortController();
      let markReady!: () => void;
      let failReady!: (error: unknown) => void;
      const ready = new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failReady = reject;
      });
      const closed = (async () => {
        let response: Response;
        try {
          response = await send(name, input, { accept: 'text/event-stream', signal: abort.signal });
        } catch (error) {
          failReady(error);
          return;
        }
        markReady();
        if (!response.body) return;
        try {
          for await (const data of sseData(response.body)) onEvent(JSON.parse(data) as OperationOutput<typeof name>);
        } catch {
          // Aborted by close(), or the connection dropped: either way the stream is over.
        }
      })();
      return { ready, closed, close: () => abort.abort() };
    },
  };
}

/** The `data` of each server-sent event block (comments and other fields skipped). */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    buffered += decoder.decode(value, { stream: !done }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.length > 0) yield data.join('\n');
    }
    if (done) return;
  }
}

/** A raw publish: the payload bytes as the body, the properties as headers (docs/http.md). */
function rawPublish(fields: Record<string, unknown>): {
  body: Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
} {
  const payload = String(fields.payload ?? '');
  const body =
    fields.payloadEncoding === 'base64'
      ? Uint8Array.from(atob(payload), (c) => c.charCodeAt(0))
      : new TextEncoder().encode(payload);
  const headers: Record<string, string> = {};
  if (fields.contentType !== undefined) headers['content-type'] = String(fields.contentType);
  for (const [key, value] of Object.entries((fields.headers as Record<string, string> | undefined) ?? {}))
    headers[`sluice-${key}`] = value;
  const named = [
    ['ttlMs', 'sluice-ttl'],
    ['priority', 'sluice-priority'],
    ['dmqEligible', 'sluice-dmq-eligible'],
    ['correlationId', 'sluice-correlation-id'],
    ['replyTo', 'sluice-reply-to'],
  ] as const;
  for (const [field, header] of named) if (fields[field] !== undefined) headers[header] = String(fields[field]);
  return { body, headers };
}

/** The Authorization header for `auth` (browser-safe base64 of UTF-8). */
function authorizationHeader(auth: ClientAuth): string {
  if ('token' in auth) return `Bearer ${auth.token}`;
  const bytes = new TextEncoder().encode(`${auth.username}:${auth.password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const problem = problemSchema.safeParse(parsed);
  if (problem.success) {
    const { status, code, title, detail, data } = problem.data;
    return new ApiError(status, code as ProblemCode, title, detail, data);
  }
  return new ApiError(response.status, 'http-error', response.statusText || `HTTP ${response.status}`, text);
}

/** The most specific reason fetch gives (undici nests the socket error as `cause`). */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
