/**
 * `POST /api/v1/topics/{topic}`: the raw request body is the payload and the headers carry the
 * message properties (DESIGN.md cross-protocol mapping, HTTP column):
 *
 * | header | message |
 * |---|---|
 * | Content-Type | contentType |
 * | Sluice-TTL (ms) | ttlMs |
 * | Sluice-Priority (0–9) | priority |
 * | Sluice-DMQ-Eligible (true/false) | dmqEligible |
 * | Sluice-Correlation-Id | correlationId |
 * | Sluice-Reply-To | replyTo |
 * | any other Sluice-<name> | headers[<name>] (lower case, as HTTP header names are case-insensitive) |
 */
import type { IncomingHttpHeaders } from 'node:http';
import { SluiceError } from '../../errors.ts';

const prefix = 'sluice-';
/** Headers mapped to message fields rather than to message headers. */
const propertyHeaders = new Set([
  'sluice-ttl',
  'sluice-priority',
  'sluice-dmq-eligible',
  'sluice-correlation-id',
  'sluice-reply-to',
]);

/** The topics.publish input for a raw HTTP publish. */
export function rawPublishInput(headers: IncomingHttpHeaders, body: Buffer, topic: string): Record<string, unknown> {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const messageHeaders: Record<string, string> = {};
  for (const name of Object.keys(headers))
    if (name.startsWith(prefix) && !propertyHeaders.has(name) && name.length > prefix.length)
      messageHeaders[name.slice(prefix.length)] = one(name)!;
  const ttl = one('sluice-ttl');
  const priority = one('sluice-priority');
  const eligible = one('sluice-dmq-eligible');
  const contentType = one('content-type');
  const correlationId = one('sluice-correlation-id');
  const replyTo = one('sluice-reply-to');
  return {
    topic,
    payload: body.toString('base64'),
    payloadEncoding: 'base64',
    ...(contentType !== undefined && contentType !== '' && { contentType }),
    ...(Object.keys(messageHeaders).length > 0 && { headers: messageHeaders }),
    ...(ttl !== undefined && { ttlMs: integerHeader('Sluice-TTL', ttl, 1, Number.MAX_SAFE_INTEGER) }),
    ...(priority !== undefined && { priority: integerHeader('Sluice-Priority', priority, 0, 9) }),
    ...(eligible !== undefined && { dmqEligible: booleanHeader('Sluice-DMQ-Eligible', eligible) }),
    ...(correlationId !== undefined && { correlationId }),
    ...(replyTo !== undefined && { replyTo }),
  };
}

function integerHeader(name: string, text: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value < min || value > max)
    throw new SluiceError('invalid-input', `Header ${name} must be an integer from ${min} to ${max}, got "${text}"`);
  return value;
}

function booleanHeader(name: string, text: string): boolean {
  const value = text.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SluiceError('invalid-input', `Header ${name} must be true or false, got "${text}"`);
}
