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

/** The typed API over HTTP. */
export interface HttpClient {
  readonly baseUrl: string;
  /** Runs an operation; rejects with ApiError or BrokerUnreachableError. */
  call<N extends UnaryOperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>>;
  /** Runs a streamed operation, yielding one parsed line at a time. */
  stream<N extends StreamOperationName>(name: N, input: OperationInput<N>): AsyncGenerator<OperationOutput<N>>;
}

/** A client for the broker at `baseUrl` (e.g. http://127.0.0.1:8080, or '' for same-origin). */
export function createHttpClient(baseUrl: string, options: { readonly fetch?: typeof fetch } = {}): HttpClient {
  const base = baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));

  async function send(name: OperationName, input: unknown): Promise<Response> {
    const { method, path } = contract[name].http;
    const fields: Record<string, unknown> = { ...(input as Record<string, unknown> | undefined) };
    let url = base + fillPath(path, fields);
    for (const param of pathParamNames(path)) delete fields[param];
    let body: string | undefined;
    if (method === 'GET' || method === 'DELETE') {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) query.set(key, String(value));
      const text = query.toString();
      if (text !== '') url += `?${text}`;
    } else body = JSON.stringify(fields);
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body }),
      });
    } catch (error) {
      throw new BrokerUnreachableError(base || '(same origin)', networkReason(error));
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  return {
    baseUrl: base,
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
  };
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
