/** RFC 9457 problem details: how every HTTP error is answered. */
import type { ServerResponse } from 'node:http';
import type { Problem } from '../../api/contract.ts';
import type { SluiceError } from '../../errors.ts';

/** Errors that belong to HTTP itself, not to the broker's catalog (never cross a layer). */
export const transportProblems = {
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  'request-header-fields-too-large': { status: 431, title: 'Request header fields too large' },
  'malformed-request': { status: 400, title: 'Malformed HTTP request' },
} as const;

/**
 * A whole problem+json HTTP response as bytes, for the requests node:http refuses before they
 * reach a handler (`clientError`: malformed, too slow, headers or URL too large).
 */
export function rawProblemResponse(code: keyof typeof transportProblems, detail: string): string {
  const { status, title } = transportProblems[code];
  const body = JSON.stringify({ type: `urn:sluice:problem:${code}`, status, title, detail, code });
  return (
    `HTTP/1.1 ${status} ${title}\r\nconnection: close\r\ncontent-type: application/problem+json\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Answers with a problem+json body. */
export function sendProblem(
  res: ServerResponse,
  problem: Omit<Problem, 'type'>,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({ type: `urn:sluice:problem:${problem.code}`, ...problem });
  res.writeHead(problem.status, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answers with a SluiceError, its status taken from the error catalog (STYLE.md §8). */
export function sendError(
  res: ServerResponse,
  error: SluiceError,
  headers: Readonly<Record<string, string>> = {},
): void {
  const { http: status, title } = error.mapping;
  sendProblem(
    res,
    {
      status,
      title,
      detail: error.detail,
      code: error.code,
      ...(error.data !== undefined && { data: { ...error.data } }),
    },
    headers,
  );
}
