/**
 * One HTTP attempt of a push consumer and what its answer means (docs/push.md):
 *
 * | answer | outcome |
 * |---|---|
 * | 2xx | acknowledged |
 * | a status in rejectStatuses (default 400, 422) | rejected → DMQ with status and body excerpt |
 * | 429, 5xx, any other status, timeout, connection error | retried with backoff (Retry-After honoured) |
 *
 * The message travels in binary mode: the body is the payload, the properties are headers
 * (`Sluice-*`, the same convention as the HTTP door's publish, so a Sluice can push to a Sluice).
 */
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Message } from '../../engine/message.ts';
import type { PushConsumerConfig } from '../../schema/push-config.ts';

/** What one attempt came to. */
export type AttemptOutcome =
  | { readonly kind: 'ack'; readonly status: number }
  | { readonly kind: 'reject'; readonly status: number; readonly error: string }
  | {
      readonly kind: 'retry';
      readonly status: number | null;
      readonly error: string;
      /** From a Retry-After answer, when it gave one. */
      readonly retryAfterMs: number | null;
      /** No answer at all (connection refused or lost, timeout): counts toward `endpoint-down`. */
      readonly unreachable: boolean;
    };

/** Bytes of a refusing answer's body kept in the error text. */
export const bodyExcerptBytes = 256;

/** What one attempt carries besides the message. */
export interface AttemptContext {
  readonly queue: string;
  readonly deliveryCount: number;
  readonly redelivered: boolean;
}

/** The connection pool of one push consumer (keep-alive, its TLS material). */
export function pushAgent(config: PushConsumerConfig): http.Agent {
  const options = { keepAlive: true, maxSockets: config.concurrency };
  if (!config.url.toLowerCase().startsWith('https:')) return new http.Agent(options);
  const { ca, cert, key, rejectUnauthorized } = config.tls;
  return new https.Agent({
    ...options,
    rejectUnauthorized,
    // The given CA is added to the system's, not put in their place.
    ...(ca !== undefined && { ca: [...rootCertificates, ca] }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
  });
}

/** Sends one message and maps the answer; never throws. */
export function attemptDelivery(
  config: PushConsumerConfig,
  agent: http.Agent,
  message: Message,
  context: AttemptContext,
  signal?: AbortSignal,
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const url = new URL(config.url);
    const transport = url.protocol === 'https:' ? https : http;
    let request: http.ClientRequest;
    try {
      request = transport.request(url, {
        method: config.method,
        agent,
        headers: { ...requestHeaders(config, message, context), 'content-length': message.payload.length },
      });
    } catch (error) {
      // A header value Node refuses, an unusable URL: retrying will not help, but the queue's
      // max redelivery still bounds it (a config fix lets the message through).
      resolve({ kind: 'retry', status: null, error: describe(error), retryAfterMs: null, unreachable: false });
      return;
    }
    const timer = setTimeout(() => {
      request.destroy();
      finish({
        kind: 'retry',
        status: null,
        error: `no answer within ${config.timeoutMs} ms`,
        retryAfterMs: null,
        unreachable: true,
      });
    }, config.timeoutMs);
    const onAbort = () => {
      request.destroy();
      finish({ kind: 'retry', status: null, error: 'stopped', retryAfterMs: null, unreachable: false });
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) =>
      finish({ kind: 'retry', status: null, error: describe(error), retryAfterMs: null, unreachable: true }),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let kept = 0;
      response.on('data', (chunk: Buffer) => {
        if (kept < bodyExcerptBytes) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      response.on('error', (error) =>
        finish({ kind: 'retry', status, error: describe(error), retryAfterMs: null, unreachable: true }),
      );
      response.on('end', () => {
        const excerpt = Buffer.concat(chunks).subarray(0, bodyExcerptBytes).toString('utf8');
        finish(classify(config, status, excerpt, response.headers['retry-after']));
      });
    });
    request.end(message.payload);
  });
}

/** The outcome table of the module comment. */
export function classify(
  config: PushConsumerConfig,
  status: number,
  bodyExcerpt: string,
  retryAfter?: string,
): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'ack', status };
  const error = `HTTP ${status}${bodyExcerpt.trim() === '' ? '' : `: ${bodyExcerpt.trim()}`}`;
  if (config.rejectStatuses.includes(status)) return { kind: 'reject', status, error };
  return { kind: 'retry', status, error, retryAfterMs: parseRetryAfter(retryAfter), unreachable: false };
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Static headers, then the message's, then authentication (which no other header may override). */
export function requestHeaders(
  config: PushConsumerConfig,
  message: Message,
  context: AttemptContext,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const set = (name: string, value: string) => {
    headers[name.toLowerCase()] = headerValue(value);
  };
  for (const [name, value] of Object.entries(config.headers)) set(name, value);
  set('content-type', message.contentType ?? 'application/octet-stream');
  for (const [name, value] of Object.entries(message.headers))
    if (headerNamePattern.test(name)) set(`sluice-${name}`, value);
  set('sluice-message-id', message.id);
  set('sluice-topic', message.topic);
  set('sluice-queue', context.queue);
  set('sluice-timestamp', String(message.timestamp));
  set('sluice-delivery-count', String(context.deliveryCount));
  set('sluice-redelivered', String(context.redelivered));
  set('sluice-priority', String(message.priority));
  if (message.correlationId !== undefined) set('sluice-correlation-id', message.correlationId);
  if (message.replyTo !== undefined) set('sluice-reply-to', message.replyTo);
  if (message.expiresAt !== null) set('sluice-expires-at', String(message.expiresAt));
  const auth = config.auth;
  if (auth.type === 'basic')
    set('authorization', `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`);
  else if (auth.type === 'bearer') set('authorization', `Bearer ${auth.token ?? ''}`);
  else if (auth.type === 'header') set(auth.name, auth.value ?? '');
  return headers;
}

/** RFC 9110 token characters: a message header whose name is not one is left out. */
const headerNamePattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;

/** Visible ASCII goes as is; anything else (UTF-8, control characters) is percent-encoded. */
function headerValue(value: string): string {
  return /^[\x20-\x7e\t]*$/.test(value) ? value : encodeURIComponent(value);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
