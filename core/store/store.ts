/**
 * The store's contract: the rows the engine reads and writes, and the transaction handle.
 * Interfaces and enums only (STYLE.md §1); sqlite-store.ts implements them.
 */

/** Optional message properties, stored together as one JSON column. */
export interface MessageProps {
  /** MIME type of the payload, when the publisher said. */
  readonly contentType?: string;
  /** Application headers (MQTT 5 user properties, AMQP application properties, Sluice-* HTTP headers). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly correlationId?: string;
  readonly replyTo?: string;
  /** 0 (lowest) to 9, AMQP-style; absent means 4. */
  readonly priority?: number;
  /** Who published it (user or client id). */
  readonly publisher?: string;
  /** Which door it came through. */
  readonly protocol?: string;
}

/** A message as stored in the log. */
export interface StoredMessage {
  /** Log position: monotonic, never reused (AUTOINCREMENT). */
  readonly id: number;
  /** Accept time in ms since the epoch; never decreases along the log. */
  readonly timestamp: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly props: MessageProps;
  /** Absolute expiry in ms since the epoch, or null for none. */
  readonly expiresAt: number | null;
  readonly dmqEligible: boolean;
  /** Bytes this message counts for in limits: payload + topic + props. */
  readonly size: number;
}

/** A validated message about to be appended: the log assigns its id, the commit its accept time. */
export type MessageDraft = Omit<StoredMessage, 'id' | 'timestamp'> & {
  /** `props` as stored: JSON, or null when empty (encoded once, also used for `size`). */
  readonly propsJson: string | null;
};

/** Entry state as stored. */
export const enum StoredEntryState {
  Ready = 0,
  InFlight = 1,
}

/** One message waiting in (or in flight from) one queue. */
export interface StoredEntry {
  /** Position in its queue: delivery order. Unique per queue. */
  readonly id: number;
  readonly queueId: number;
  readonly messageId: number;
  readonly state: StoredEntryState;
  readonly deliveryCount: number;
  readonly firstDeliveredAt: number | null;
  readonly lastDeliveredAt: number | null;
  /** Deliveries in earlier lives in a queue, before the DMQ sent it back (0 for a first life). */
  readonly priorDeliveries: number;
  /** Effective expiry: message expiry or queue default TTL, whichever is sooner. */
  readonly expiresAt: number | null;
  readonly size: number;
  /** Put here by a replay rather than by routing. */
  readonly replayed: boolean;
}

/** An entry joined with its message, as read for delivery. */
export interface EntryWithMessage extends StoredEntry {
  readonly message: StoredMessage;
}

/** A queue row: the config is opaque JSON to the store (the engine owns its schema). */
export interface StoredQueue {
  readonly id: number;
  readonly name: string;
  readonly configJson: string;
  readonly createdAt: number;
  readonly countersJson: string;
  /** Highest entry id ever assigned in this queue. */
  readonly lastEntryId: number;
}

/** A dead message: a full copy of the original plus why it died. */
export interface StoredDeadMessage {
  readonly id: number;
  readonly dmq: string;
  readonly message: StoredMessage;
  readonly queue: string;
  readonly reason: string;
  /** Deliveries in the life that ended here. */
  readonly deliveryCount: number;
  /** Deliveries in earlier lives, before earlier DMQ redeliveries. */
  readonly priorDeliveries: number;
  readonly firstDeliveredAt: number | null;
  readonly lastDeliveredAt: number | null;
  readonly deadAt: number;
  readonly consumer: string | null;
  readonly error: string | null;
}

export type NewDeadMessage = Omit<StoredDeadMessage, 'id'>;

/** Filter for browsing dead messages (all fields optional, ANDed). */
export interface DeadMessageQuery {
  readonly dmq?: string;
  readonly queue?: string;
  readonly reason?: string;
  /** Only ids strictly greater (paging cursor). */
  readonly afterId?: number;
  readonly deadFrom?: number;
  readonly deadUntil?: number;
  readonly limit: number;
}

/** A replay job as stored, so it resumes after a restart exactly where it stopped. */
export interface StoredReplay {
  readonly id: number;
  readonly specJson: string;
  readonly state: string;
  /** First log id in range, as resolved when the replay started. */
  readonly startId: number;
  /** Last log id handled. */
  readonly cursor: number;
  /** Last log id the replay will read. */
  readonly endId: number;
  readonly scanned: number;
  readonly replayed: number;
  /** Log messages in range that match the topic filter: what the replay copies. */
  readonly total: number;
  /** Log messages in range, filter or not: what `scanned` counts up to. */
  readonly inRange: number;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly error: string | null;
}

/**
 * Proof of being inside a store transaction (STYLE.md §7): only the store creates one,
 * so code that writes must be called from within `Store.transaction`.
 */
export interface Tx {
  readonly __tx: unique symbol;
}
