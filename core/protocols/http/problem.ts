/** RFC 9457 problem details: how every HTTP error is answered. */
import type { ServerResponse } from 'node:http';
import type { Problem } from '../../api/contract.ts';
import type { SluiceError } from '../../errors.ts';

/** Errors that belong to HTTP itself, not to the broker's catalog (never cross a layer). */
export const transportProblems = {
  'route-not-found': { status: 404, title: 'No such route' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
} as const;

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
