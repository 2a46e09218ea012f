/**
 * Turning an HTTP request into an operation's input: path params, query parameters (typed by
 * the input schema) and a size-limited JSON body. Every failure is a SluiceError.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { fieldType } from '../../api/contract.ts';
import { SluiceError } from '../../errors.ts';

/** Reads the whole body, refusing more than `limitBytes` (413) before buffering it. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  assertDeclaredLength(req, limitBytes);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    // Chunked bodies carry no length: count as they come and stop at the limit.
    if (received > limitBytes) throw tooLarge(`more than ${limitBytes} bytes`, limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Refuses a request whose Content-Length is over the limit, before reading any of it. */
export function assertDeclaredLength(req: IncomingMessage, limitBytes: number): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) throw tooLarge(`${declared} bytes`, limitBytes);
}

function tooLarge(size: string, limitBytes: number): SluiceError {
  return new SluiceError(
    'payload-too-large',
    `The request body is ${size}; this API accepts at most ${limitBytes} (config http.maxBodyBytes)`,
    { limitBytes },
  );
}

/** Parses a JSON body that must be an object; an empty body is `{}`. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SluiceError('invalid-input', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SluiceError('invalid-input', 'The request body must be a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Query parameters as input fields. Query values are text; numbers and booleans are converted
 * where the input schema expects them, so `?limit=10&force=true` validates like a JSON body.
 * An array field collects every occurrence: `?topics=a/%23&topics=b/%2B`.
 */
export function queryInput(schema: z.ZodType, query: URLSearchParams): Record<string, unknown> {
  const shape = 'shape' in schema ? (schema.shape as Record<string, z.ZodType>) : {};
  const input: Record<string, unknown> = {};
  for (const [key, raw] of query) {
    const field = shape[key];
    const kind = field ? fieldType(field).type : 'string';
    if (kind === 'array') input[key] = [...((input[key] as string[] | undefined) ?? []), raw];
    else input[key] = kind === 'number' ? toNumber(raw) : kind === 'boolean' ? toBoolean(raw) : raw;
  }
  return input;
}

const toNumber = (raw: string) => (raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw);
const toBoolean = (raw: string) => (raw === 'true' || raw === '' ? true : raw === 'false' ? false : raw);
