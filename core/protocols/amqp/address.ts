import { assertTopicFilter, assertTopicName } from '../../schema/topic.ts';
import { assertQueueName } from '../../engine/queue.ts';
import { SluiceError } from '../../errors.ts';

// DESIGN.md: Cross-protocol mapping. A plain name or queue://name is a durable queue;
// topic://a/b/c and /topic/a/b/c are topics; receivers may use MQTT wildcards + and #.

/** What an AMQP address names. */
export type Address =
  /** A durable engine queue. */
  | { readonly kind: 'queue'; readonly queue: string }
  /** A topic (publish) or topic filter (receive). */
  | { readonly kind: 'topic'; readonly topic: string };

const topicPrefixes = ['topic://', '/topic/'];
const queuePrefixes = ['queue://', '/queue/'];

/**
 * Parses an address. `capabilities` are the terminus capabilities: JMS clients (qpid-jms) mark a
 * topic with the `topic` capability instead of a prefix.
 */
export function parseAddress(address: string, capabilities: unknown = []): Address {
  const marks = Array.isArray(capabilities) ? capabilities : typeof capabilities === 'string' ? [capabilities] : [];
  for (const prefix of topicPrefixes)
    if (address.startsWith(prefix)) return { kind: 'topic', topic: address.slice(prefix.length) };
  for (const prefix of queuePrefixes)
    if (address.startsWith(prefix)) return { kind: 'queue', queue: address.slice(prefix.length) };
  if (marks.includes('topic') || marks.includes('temporary-topic')) return { kind: 'topic', topic: address };
  return { kind: 'queue', queue: address };
}

/** An address a sender publishes to: a topic name without wildcards, or a queue. */
export function publishAddress(address: string, capabilities: unknown = []): Address {
  const parsed = parseAddress(address, capabilities);
  if (parsed.kind === 'topic') assertTopicName(parsed.topic);
  else assertQueueName(parsed.queue);
  return parsed;
}

/** An address a receiver consumes from: a topic filter (wildcards allowed) or a queue. */
export function consumeAddress(address: string, capabilities: unknown = []): Address {
  const parsed = parseAddress(address, capabilities);
  if (parsed.kind === 'topic') assertTopicFilter(parsed.topic);
  else assertQueueName(parsed.queue);
  return parsed;
}

/**
 * The topic a message sent to a queue is published on: the engine delivers `$queue/<name>` to that
 * queue alone (the same name MQTT uses to consume it). `$` topics never match a leading wildcard
 * [MQTT-4.7.2-1], so no other subscription catches them.
 */
export function queueTopic(queue: string): string {
  return `$queue/${queue}`;
}

/** Where a replay receiver starts (source filter `sluice-replay-from`, see docs/amqp.md). */
export type ReplayStart =
  | { readonly kind: 'beginning' }
  | { readonly kind: 'timestamp'; readonly at: number }
  | { readonly kind: 'message-id'; readonly id: string };

/** The source filter key that asks for a replay. */
export const replayFilterKey = 'sluice-replay-from';

/**
 * Parses `beginning`, `timestamp:<ms since epoch | ISO 8601>` or `message-id:<id>`; a bare
 * number is a timestamp and a bare ISO 8601 date-time too.
 */
export function parseReplayStart(value: unknown): ReplayStart {
  const text =
    typeof value === 'number' ? `timestamp:${value}` : value instanceof Date ? `timestamp:${value.getTime()}` : value;
  if (typeof text !== 'string')
    throw new SluiceError('invalid-input', `${replayFilterKey} must be a string, got ${typeof value}`);
  if (text === 'beginning') return { kind: 'beginning' };
  if (text.startsWith('message-id:')) {
    const id = text.slice('message-id:'.length);
    if (!/^\d+$/.test(id)) throw new SluiceError('invalid-input', `${replayFilterKey}: "${id}" is not a message id`);
    return { kind: 'message-id', id };
  }
  const stamp = text.startsWith('timestamp:') ? text.slice('timestamp:'.length) : text;
  const at = /^\d+$/.test(stamp) ? Number(stamp) : Date.parse(stamp);
  if (!Number.isFinite(at))
    throw new SluiceError(
      'invalid-input',
      `${replayFilterKey} must be "beginning", "timestamp:<ms or ISO 8601>" or "message-id:<id>", got "${text}"`,
    );
  return { kind: 'timestamp', at };
}
