import rhea, { type Message as AmqpMessage } from 'rhea';
import type { Message, PublishInput } from '../../engine/message.ts';
import { SluiceError } from '../../errors.ts';

// DESIGN.md: Cross-protocol mapping, headers row. AMQP properties become engine fields where the
// engine has one (content type, correlation id, reply-to, priority, expiry, DMQ eligibility), the
// rest become `amqp-*` headers; application properties are headers. What AMQP alone needs to
// round-trip exactly (property types, body section kind, non-string ids) rides in `amqp-*` headers
// that are taken out again on the way back, so MQTT and HTTP see plain string headers.

const { types } = rhea;

/** App property and header that carry DMQ eligibility (DESIGN.md). */
export const dmqEligibleHeader = 'sluice-dmq-eligible';
/** App property carrying the Sluice message id on every AMQP delivery (replay from message id uses it). */
export const messageIdProperty = 'sluice-message-id';
/**
 * How the AMQP body was sent: absent = one data section (bytes), `string` = amqp-value string,
 * `binary` = amqp-value binary, `encoded` = the AMQP encoding of other body sections (maps, lists…).
 */
export const bodyHeader = 'amqp-body';
/** The publisher's AMQP message-id (Sluice assigns its own id). */
export const messageIdHeader = 'amqp-message-id';
/** AMQP types of the non-string message-id, correlation-id and application properties: JSON `{name: type}`. */
export const typesHeader = 'amqp-types';
const subjectHeader = 'amqp-subject';
const groupIdHeader = 'amqp-group-id';
const creationTimeHeader = 'amqp-creation-time';
const contentEncodingHeader = 'amqp-content-encoding';
const internalHeaders = new Set([
  bodyHeader,
  messageIdHeader,
  typesHeader,
  subjectHeader,
  groupIdHeader,
  creationTimeHeader,
  contentEncodingHeader,
]);

/** Highest priority the engine stores; AMQP 1.0 §3.2.1 lets a broker treat higher ones as its highest. */
const maxPriority = 9;

type Scalar = string | number | boolean | Date | Buffer | null;
type TypeTag = 'int' | 'long' | 'double' | 'boolean' | 'timestamp' | 'binary' | 'null' | 'uuid' | 'ulong';

function tagOf(value: Scalar): TypeTag {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (value instanceof Date) return 'timestamp';
  if (Buffer.isBuffer(value)) return 'binary';
  if (typeof value === 'number')
    return Number.isInteger(value) ? (value >= -(2 ** 31) && value < 2 ** 31 ? 'int' : 'long') : 'double';
  return 'int';
}

function scalarText(value: Scalar): string {
  if (value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return String(value);
}

function typed(text: string, tag: TypeTag): unknown {
  switch (tag) {
    case 'int':
      return types.wrap_int(Number(text));
    case 'long':
      return types.wrap_long(Number(text));
    case 'ulong':
      return types.wrap_ulong(Number(text));
    case 'double':
      return types.wrap_double(Number(text));
    case 'boolean':
      return text === 'true';
    case 'timestamp':
      return new Date(text);
    case 'binary':
      return Buffer.from(text, 'base64');
    case 'uuid':
      return types.wrap_uuid(rhea.string_to_uuid(text));
    case 'null':
      return null;
  }
}

/** An AMQP message-id / correlation-id as text, with its type when not a string. */
function idText(value: unknown): { text: string; tag?: TypeTag } {
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'number') return { text: String(value), tag: 'ulong' };
  // rhea decodes uuid and binary ids alike as 16-byte / n-byte Buffers: 16 bytes are read as a uuid.
  if (Buffer.isBuffer(value) && value.length === 16) return { text: rhea.uuid_to_string(value), tag: 'uuid' };
  if (Buffer.isBuffer(value)) return { text: value.toString('base64'), tag: 'binary' };
  return { text: String(value) };
}

/** The body as bytes, and how to restore it for AMQP receivers. */
function bodyToPayload(body: unknown): { payload: Buffer; kind?: 'string' | 'binary' | 'encoded' } {
  const section = body as { typecode?: number; content?: unknown; multiple?: boolean } | undefined;
  if (section && section.typecode === 0x75 && !section.multiple && Buffer.isBuffer(section.content))
    return { payload: section.content };
  if (typeof body === 'string') return { payload: Buffer.from(body, 'utf8'), kind: 'string' };
  if (Buffer.isBuffer(body)) return { payload: body, kind: 'binary' };
  return { payload: encodeBody(body), kind: 'encoded' };
}

/** The body sections alone, AMQP-encoded (AMQP 1.0 §3.2.5–3.2.8). */
function encodeBody(body: unknown): Buffer {
  const sections: unknown[] = [];
  const collect = body as { collect_sections?: (into: unknown[]) => void } | undefined;
  if (collect && typeof collect.collect_sections === 'function') collect.collect_sections(sections);
  else sections.push(types.described(types.wrap_ulong(0x77), types.wrap(body)));
  // rhea's typings omit its Writer (node_modules/rhea/lib/types.js).
  const Writer = (types as unknown as { Writer: new () => { write(o: unknown): void; toBuffer(): Buffer } }).Writer;
  const writer = new Writer();
  for (const section of sections) writer.write(section);
  return writer.toBuffer();
}

function payloadToBody(payload: Buffer, kind: string | undefined): unknown {
  if (kind === 'string') return payload.toString('utf8');
  if (kind === 'binary') return payload;
  if (kind === 'encoded') return rhea.message.decode(payload).body;
  return rhea.message.data_section(payload);
}

/** An AMQP message → what the engine publishes (topic and publisher set by the caller). */
export function toPublishInput(message: AmqpMessage, topic: string, publisher: string | undefined): PublishInput {
  const headers: Record<string, string> = {};
  const tags: Record<string, TypeTag> = {};
  let dmqEligible: boolean | undefined;
  for (const [key, raw] of Object.entries(message.application_properties ?? {})) {
    const value = raw as Scalar;
    if (key === dmqEligibleHeader) {
      dmqEligible = !(value === false || value === 'false');
      continue;
    }
    if (typeof value === 'object' && value !== null && !(value instanceof Date) && !Buffer.isBuffer(value))
      throw new SluiceError('invalid-input', `application property "${key}" is not a simple value (AMQP 1.0 §3.2.5)`);
    headers[key] = scalarText(value);
    if (typeof value !== 'string') tags[key] = tagOf(value);
  }
  if (message.message_id !== undefined && message.message_id !== null) {
    const id = idText(message.message_id);
    headers[messageIdHeader] = id.text;
    if (id.tag) tags[messageIdHeader] = id.tag;
  }
  let correlationId: string | undefined;
  if (message.correlation_id !== undefined && message.correlation_id !== null) {
    const id = idText(message.correlation_id);
    correlationId = id.text;
    if (id.tag) tags['correlation-id'] = id.tag;
  }
  if (typeof message.subject === 'string') headers[subjectHeader] = message.subject;
  if (typeof message.group_id === 'string') headers[groupIdHeader] = message.group_id;
  if (typeof message.content_encoding === 'string') headers[contentEncodingHeader] = message.content_encoding;
  if (message.creation_time instanceof Date) headers[creationTimeHeader] = message.creation_time.toISOString();
  const { payload, kind } = bodyToPayload(message.body);
  if (kind) headers[bodyHeader] = kind;
  if (Object.keys(tags).length > 0) headers[typesHeader] = JSON.stringify(tags);
  const expiry = message.absolute_expiry_time as Date | number | undefined;
  const expiresAt =
    expiry instanceof Date ? expiry.getTime() : typeof expiry === 'number' && expiry > 0 ? expiry : undefined;
  // Assigned, not spread from conditional temporaries: one object per message, shapes V8 can cache.
  const input: { -readonly [K in keyof PublishInput]: PublishInput[K] } = { topic, payload, protocol: 'amqp', headers };
  if (publisher !== undefined) input.publisher = publisher;
  if (typeof message.content_type === 'string') input.contentType = message.content_type;
  if (correlationId !== undefined) input.correlationId = correlationId;
  if (typeof message.reply_to === 'string') input.replyTo = message.reply_to;
  if (typeof message.priority === 'number') input.priority = Math.min(message.priority, maxPriority);
  // AMQP 1.0 §3.2.1 ttl and §3.2.4 absolute-expiry-time: the absolute time wins when both are given.
  if (expiresAt !== undefined) input.expiresAt = expiresAt;
  else if (typeof message.ttl === 'number' && message.ttl > 0) input.ttlMs = message.ttl;
  if (dmqEligible !== undefined) input.dmqEligible = dmqEligible;
  return input;
}

/** What a delivery adds to the message: attempts so far (AMQP header delivery-count = attempts − 1). */
export interface DeliveryFacts {
  readonly deliveryCount: number;
}

/** An engine message → the AMQP message sent to a receiver. */
export function toAmqpMessage(message: Message, facts: DeliveryFacts, now = Date.now()): AmqpMessage {
  const { headers } = message;
  const tags = parseTags(headers[typesHeader]);
  const applicationProperties: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (internalHeaders.has(key)) continue;
    const tag = tags[key];
    applicationProperties[key] = tag ? typed(value, tag) : value;
  }
  applicationProperties[messageIdProperty] = message.id;
  if (!message.dmqEligible) applicationProperties[dmqEligibleHeader] = false;
  const originalId = headers[messageIdHeader];
  const idTag = tags[messageIdHeader];
  const correlationTag = tags['correlation-id'];
  const out: AmqpMessage = {
    // AMQP 1.0 §3.2.1: delivery-count counts earlier unsuccessful attempts; first-acquirer the first.
    durable: true,
    priority: message.priority,
    first_acquirer: facts.deliveryCount <= 1,
    delivery_count: Math.max(0, facts.deliveryCount - 1),
    message_id: originalId === undefined ? message.id : idTag ? typed(originalId, idTag) : originalId,
    to: `topic://${message.topic}`,
    creation_time: headers[creationTimeHeader] ? new Date(headers[creationTimeHeader]) : new Date(message.timestamp),
    application_properties: applicationProperties,
    body: payloadToBody(message.payload, headers[bodyHeader]),
  } as AmqpMessage;
  if (message.expiresAt !== null) {
    out.ttl = Math.max(1, message.expiresAt - now);
    out.absolute_expiry_time = new Date(message.expiresAt);
  }
  if (message.contentType !== undefined) out.content_type = message.contentType;
  if (message.correlationId !== undefined)
    out.correlation_id = (
      correlationTag ? typed(message.correlationId, correlationTag) : message.correlationId
    ) as string;
  if (message.replyTo !== undefined) out.reply_to = message.replyTo;
  if (headers[subjectHeader] !== undefined) out.subject = headers[subjectHeader];
  if (headers[groupIdHeader] !== undefined) out.group_id = headers[groupIdHeader];
  if (headers[contentEncodingHeader] !== undefined) out.content_encoding = headers[contentEncodingHeader];
  return out;
}

function parseTags(json: string | undefined): Record<string, TypeTag> {
  if (json === undefined) return {};
  try {
    return JSON.parse(json) as Record<string, TypeTag>;
  } catch {
    return {};
  }
}
