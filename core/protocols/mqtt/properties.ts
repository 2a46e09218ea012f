import type { Message, PublishInput } from '../../engine/message.ts';
import { SluiceError } from '../../errors.ts';
import type { AedesPacket } from './persistence.ts';

// DESIGN.md: Cross-protocol mapping, headers row. MQTT 5 PUBLISH properties become engine fields
// (content type, correlation id, reply-to, TTL) and headers (user properties), so AMQP and HTTP
// consumers see them; and back. What only MQTT needs to round-trip rides in `mqtt-*` headers that
// are never sent as user properties.

/** Header carrying the QoS an MQTT message was published with (delivery QoS = min(publish, subscription)). */
export const mqttQosHeader = 'mqtt-qos';
/** Header set to `1` on a message published with RETAIN (for retain-as-published subscriptions). */
export const mqttRetainHeader = 'mqtt-retain';
/** Header set to `utf-8` when the publisher set payload format indicator 1 [MQTT-3.3.2.3.2]. */
export const payloadFormatHeader = 'mqtt-payload-format';
/** Header set to `base64` when the correlation id is binary MQTT 5 correlation data in base64. */
export const correlationEncodingHeader = 'mqtt-correlation-data';
/** Header `false` makes a message not DMQ-eligible (the same name on every door). */
export const dmqEligibleHeader = 'sluice-dmq-eligible';

/** Headers that are MQTT bookkeeping, never sent as user properties. */
const internalHeaders = new Set([mqttQosHeader, mqttRetainHeader, payloadFormatHeader, correlationEncodingHeader]);

/** The MQTT 5 PUBLISH properties Sluice reads and writes (mqtt-packet's names). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  subscriptionIdentifier?: number | number[];
  contentType?: string;
}

/** The engine fields of an inbound MQTT 5 PUBLISH, beside topic, payload and publisher. */
export type InboundFields = Pick<
  PublishInput,
  'headers' | 'contentType' | 'correlationId' | 'replyTo' | 'ttlMs' | 'dmqEligible'
>;

/**
 * MQTT 5 PUBLISH properties → engine fields. `base` holds the MQTT bookkeeping headers (QoS,
 * retain). Refuses a payload that says UTF-8 and is not (0x99, payload format invalid).
 */
export function inboundFields(
  properties: PublishProperties,
  payload: Buffer,
  base: Readonly<Record<string, string>>,
): InboundFields {
  const headers: Record<string, string> = { ...base };
  const fields: { -readonly [K in keyof InboundFields]: InboundFields[K] } = { headers };
  // User properties → headers; a name given more than once keeps its values joined with ", "
  // (as repeated HTTP headers are). Bookkeeping names cannot be forged by a publisher.
  for (const [name, value] of Object.entries(properties.userProperties ?? {})) {
    if (internalHeaders.has(name)) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (name === dmqEligibleHeader) fields.dmqEligible = text.trim().toLowerCase() !== 'false';
    headers[name] = text;
  }
  if (properties.payloadFormatIndicator) {
    // [MQTT-3.3.2-4] passed on unaltered; the broker may check it (0x99) and does.
    if (!isUtf8(payload)) throw new SluiceError('invalid-input', 'payload format indicator says UTF-8, payload is not');
    headers[payloadFormatHeader] = 'utf-8';
  }
  if (properties.contentType !== undefined) fields.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) fields.replyTo = properties.responseTopic;
  if (properties.correlationData !== undefined) {
    const data = properties.correlationData;
    const text = data.toString('utf8');
    // Correlation data is binary; the engine's correlation id is text. Printable UTF-8 is kept as
    // is, anything else (control characters included) is base64 with the marker header.
    if (isUtf8(data) && !/\p{Cc}/u.test(text)) fields.correlationId = text;
    else {
      fields.correlationId = data.toString('base64');
      headers[correlationEncodingHeader] = 'base64';
    }
  }
  // [MQTT-3.3.2-5] message expiry interval → the message's TTL.
  if (properties.messageExpiryInterval !== undefined) fields.ttlMs = properties.messageExpiryInterval * 1000;
  return fields;
}

/**
 * Engine message → MQTT 5 PUBLISH properties for a subscriber. Returns null when the message
 * has expired (the broker must not send it [MQTT-3.3.2-5]).
 */
export function outboundProperties(
  message: Message,
  subscriptionIds: readonly number[],
  now = Date.now(),
): PublishProperties | null {
  const properties: PublishProperties = {};
  if (message.expiresAt !== null) {
    const remainingMs = message.expiresAt - now;
    if (remainingMs <= 0) return null;
    // [MQTT-3.3.2-6] the remaining lifetime, in whole seconds (rounded up: never 0 for a live message).
    properties.messageExpiryInterval = Math.ceil(remainingMs / 1000);
  }
  const { headers } = message;
  if (headers[payloadFormatHeader] === 'utf-8') properties.payloadFormatIndicator = true;
  if (message.contentType !== undefined) properties.contentType = message.contentType;
  if (message.replyTo !== undefined) properties.responseTopic = message.replyTo;
  if (message.correlationId !== undefined)
    properties.correlationData = Buffer.from(
      message.correlationId,
      headers[correlationEncodingHeader] === 'base64' ? 'base64' : 'utf8',
    );
  let userProperties: Record<string, string> | undefined;
  for (const name in headers) {
    if (internalHeaders.has(name)) continue;
    (userProperties ??= {})[name] = headers[name]!;
  }
  if (!message.dmqEligible) (userProperties ??= {})[dmqEligibleHeader] = 'false';
  if (userProperties) properties.userProperties = userProperties;
  if (subscriptionIds.length > 0)
    properties.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : [...subscriptionIds];
  return properties;
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * The properties kept with a retained message, sent to MQTT 5 clients that subscribe later:
 * the message's own, without what belongs to one hop (topic alias, subscription identifiers)
 * or would go stale (message expiry: the retained copy keeps its absolute deadline instead and
 * goes out with the remaining interval). Undefined when none is left.
 */
export function retainedProperties(properties: PublishProperties | undefined): PublishProperties | undefined {
  if (!properties) return undefined;
  const kept: PublishProperties = { ...properties };
  delete kept.topicAlias;
  delete kept.subscriptionIdentifier;
  delete kept.messageExpiryInterval;
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** Field of a stored retained message: when it expires (ms since the epoch), from its message expiry interval. */
export const retainedExpiresAtField = 'sluiceExpiresAt';

/** A retained message as it goes to a new subscriber: none when expired, else its remaining lifetime. */
export function unexpiredRetained(packet: AedesPacket, now = Date.now()): AedesPacket[] {
  const expiresAt = packet[retainedExpiresAtField];
  if (typeof expiresAt !== 'number') return [packet];
  if (expiresAt <= now) return [];
  const properties = { ...(packet.properties as PublishProperties | undefined) };
  properties.messageExpiryInterval = Math.ceil((expiresAt - now) / 1000);
  return [{ ...packet, properties }];
}

/**
 * MQTT 5 PUBLISH properties (§3.3.2.3) as they go on the wire: property length (variable byte
 * integer) then each property as identifier + value. Byte-checked against mqtt-packet in
 * test/unit/mqtt5-encode.test.ts.
 */
export function encodeProperties(properties: PublishProperties): Buffer {
  const parts: Buffer[] = [];
  const byte = (id: number, value: number): void => void parts.push(Buffer.from([id, value]));
  const int32 = (id: number, value: number): void => {
    const buffer = Buffer.allocUnsafe(5);
    buffer[0] = id;
    buffer.writeUInt32BE(value, 1);
    parts.push(buffer);
  };
  const binary = (id: number, value: Buffer): void => {
    const head = Buffer.allocUnsafe(3);
    head[0] = id;
    head.writeUInt16BE(value.length, 1);
    parts.push(head, value);
  };
  const string = (id: number, value: string): void => binary(id, Buffer.from(value, 'utf8'));
  if (properties.payloadFormatIndicator !== undefined) byte(0x01, properties.payloadFormatIndicator ? 1 : 0);
  if (properties.messageExpiryInterval !== undefined) int32(0x02, properties.messageExpiryInterval);
  if (properties.contentType !== undefined) string(0x03, properties.contentType);
  if (properties.responseTopic !== undefined) string(0x08, properties.responseTopic);
  if (properties.correlationData !== undefined) binary(0x09, properties.correlationData);
  const ids = properties.subscriptionIdentifier;
  for (const id of ids === undefined ? [] : Array.isArray(ids) ? ids : [ids])
    parts.push(Buffer.from([0x0b]), varInt(id));
  if (properties.topicAlias !== undefined) {
    const buffer = Buffer.allocUnsafe(3);
    buffer[0] = 0x23;
    buffer.writeUInt16BE(properties.topicAlias, 1);
    parts.push(buffer);
  }
  for (const [name, value] of Object.entries(properties.userProperties ?? {}))
    for (const one of Array.isArray(value) ? value : [value]) {
      parts.push(Buffer.from([0x26]));
      const key = Buffer.from(name, 'utf8');
      const text = Buffer.from(one, 'utf8');
      const buffer = Buffer.allocUnsafe(4 + key.length + text.length);
      buffer.writeUInt16BE(key.length, 0);
      key.copy(buffer, 2);
      buffer.writeUInt16BE(text.length, 2 + key.length);
      text.copy(buffer, 4 + key.length);
      parts.push(buffer);
    }
  const body = Buffer.concat(parts);
  return Buffer.concat([varInt(body.length), body]);
}

/** A variable byte integer (§1.5.5). */
export function varInt(value: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return Buffer.from(bytes);
}
