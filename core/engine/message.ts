import type { StoredMessage } from '../store/store.ts';

/** Default priority when the publisher gave none (AMQP 1.0 §3.2.1). */
export const defaultPriority = 4;

/** Header set on every copy a replay delivers (DESIGN.md: replayed copies are marked). */
export const replayedHeader = 'sluice-replayed';
/** Header carrying the original accept time of a replayed copy, ISO 8601. */
export const originalTimeHeader = 'sluice-original-time';
/** Header carrying the original message id of a replayed copy. */
export const originalIdHeader = 'sluice-original-id';

/** What a publisher hands to the engine, whatever the protocol. */
export interface PublishInput {
  readonly topic: string;
  readonly payload: Buffer | Uint8Array | string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly correlationId?: string;
  readonly replyTo?: string;
  /** 0–9; absent means 4. */
  readonly priority?: number;
  /** User name or client id of the publisher. */
  readonly publisher?: string;
  /** The door it came through: mqtt, amqp, http, api… */
  readonly protocol?: string;
  /** Time to live from now; the queue's default TTL applies when absent. */
  readonly ttlMs?: number;
  /** Absolute expiry (ms since epoch); wins over ttlMs when both are given. */
  readonly expiresAt?: number;
  /** False: discard instead of dead-lettering (DESIGN.md: only DMQ-eligible messages go to the DMQ). */
  readonly dmqEligible?: boolean;
}

/** What the publisher gets back once the message is durable. */
export interface PublishReceipt {
  /** Log id, as a string (DESIGN.md: ids are exposed as strings). */
  readonly id: string;
  readonly timestamp: number;
  /** Names of the queues it was enqueued to (or dead-lettered from, on overflow). */
  readonly queues: readonly string[];
}

/** A message as adapters see it: flat, ids as strings. */
export interface Message {
  readonly id: string;
  readonly timestamp: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly contentType?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly correlationId?: string;
  readonly replyTo?: string;
  readonly priority: number;
  readonly publisher?: string;
  readonly protocol?: string;
  readonly expiresAt: number | null;
  readonly dmqEligible: boolean;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

/** Flattens a stored message; `replayed` adds the replay marks to the headers. */
export function toMessage(stored: StoredMessage, replayed = false): Message {
  const { props } = stored;
  // Headers are read-only: a message that is not replayed shares its stored props' object.
  const headers = replayed
    ? {
        ...props.headers,
        [replayedHeader]: 'true',
        [originalIdHeader]: String(stored.id),
        [originalTimeHeader]: new Date(stored.timestamp).toISOString(),
      }
    : (props.headers ?? noHeaders);
  // Built field by field, not by conditional spreads: this runs for every message that has a
  // live listener (the topic tree listens to everything), and spreads cost a map transition each.
  const message: { -readonly [K in keyof Message]: Message[K] } = {
    id: String(stored.id),
    timestamp: stored.timestamp,
    topic: stored.topic,
    payload: stored.payload,
    headers,
    priority: props.priority ?? defaultPriority,
    expiresAt: stored.expiresAt,
    dmqEligible: stored.dmqEligible,
  };
  if (props.contentType !== undefined) message.contentType = props.contentType;
  if (props.correlationId !== undefined) message.correlationId = props.correlationId;
  if (props.replyTo !== undefined) message.replyTo = props.replyTo;
  if (props.publisher !== undefined) message.publisher = props.publisher;
  if (props.protocol !== undefined) message.protocol = props.protocol;
  return message;
}
