/**
 * From the publish form's fields to the contract's `messages.publish` input, with the mistakes
 * an engineer makes at a keyboard caught before sending: JSON that does not parse, hex with an
 * odd digit, a header line without a colon.
 */
import type { OperationInput } from '../../../core/api/contract.ts';
import { bytesToBase64, parseHex } from './payload.ts';

/** How the payload box is read. */
export type PayloadFormat = 'text' | 'json' | 'hex';

/** The publish form as typed. */
export interface ComposeFields {
  readonly topic: string;
  readonly payload: string;
  readonly format: PayloadFormat;
  readonly contentType: string;
  /** One `name: value` per line. */
  readonly headers: string;
  /** Seconds; empty for none. */
  readonly ttlSeconds: string;
  readonly priority: string;
  readonly dmqEligible: boolean;
  readonly correlationId: string;
  readonly replyTo: string;
}

export const emptyCompose: ComposeFields = {
  topic: '',
  payload: '',
  format: 'text',
  contentType: '',
  headers: '',
  ttlSeconds: '',
  priority: '',
  dmqEligible: true,
  correlationId: '',
  replyTo: '',
};

/** The input to send, or the first problem with the form. */
export type Composed =
  | { readonly ok: true; readonly input: OperationInput<'messages.publish'> }
  | { readonly ok: false; readonly problem: string };

/** Builds the `messages.publish` input (the broker validates again; this is for a quick, clear answer). */
export function compose(fields: ComposeFields): Composed {
  const topic = fields.topic.trim();
  if (topic === '') return { ok: false, problem: 'Give a topic to publish to.' };
  const headers = parseHeaders(fields.headers);
  if (typeof headers === 'string') return { ok: false, problem: headers };

  let payload = fields.payload;
  let payloadEncoding: 'utf8' | 'base64' = 'utf8';
  let contentType = fields.contentType.trim();
  if (fields.format === 'json') {
    try {
      JSON.parse(payload);
    } catch (error) {
      return { ok: false, problem: `The payload is not valid JSON: ${(error as Error).message}` };
    }
    contentType ||= 'application/json';
  } else if (fields.format === 'hex') {
    const data = parseHex(payload);
    if (!data) return { ok: false, problem: 'The payload is not hex: pairs of 0-9 a-f, spaces allowed.' };
    payload = bytesToBase64(data);
    payloadEncoding = 'base64';
    contentType ||= 'application/octet-stream';
  }

  const ttl = fields.ttlSeconds.trim();
  const ttlSeconds = ttl === '' ? undefined : Number(ttl);
  if (ttlSeconds !== undefined && !(Number.isFinite(ttlSeconds) && ttlSeconds > 0))
    return { ok: false, problem: 'TTL is a number of seconds above zero, or empty for none.' };
  const priorityText = fields.priority.trim();
  const priority = priorityText === '' ? undefined : Number(priorityText);
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0 && priority <= 9))
    return { ok: false, problem: 'Priority is a whole number from 0 to 9.' };

  return {
    ok: true,
    input: {
      topic,
      payload,
      payloadEncoding,
      dmqEligible: fields.dmqEligible,
      ...(contentType !== '' && { contentType }),
      ...(Object.keys(headers).length > 0 && { headers }),
      ...(ttlSeconds !== undefined && { ttlMs: Math.round(ttlSeconds * 1000) }),
      ...(priority !== undefined && { priority }),
      ...(fields.correlationId.trim() !== '' && { correlationId: fields.correlationId.trim() }),
      ...(fields.replyTo.trim() !== '' && { replyTo: fields.replyTo.trim() }),
    },
  };
}

/** `name: value` lines → a record; a string names the first bad line. Blank lines are skipped. */
export function parseHeaders(text: string): Record<string, string> | string {
  const headers: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return `Header line ${i + 1} needs the form "name: value".`;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}
