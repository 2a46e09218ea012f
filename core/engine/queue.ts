import { SluiceError } from '../errors.ts';
import type { SqliteStore } from '../store/sqlite-store.ts';
import type { EntryWithMessage, StoredMessage } from '../store/store.ts';
import { queueConfigSchema, type QueueConfig } from '../schema/queue-config.ts';

export {
  assertQueueName,
  defaultDeadMessageQueue,
  queueConfigSchema,
  queueNamePattern,
} from '../schema/queue-config.ts';
export type { QueueConfig, QueueConfigInput } from '../schema/queue-config.ts';

/** Parses a config, turning zod's issues into one clear invalid-input error. */
export function parseQueueConfig(input: unknown): QueueConfig {
  const parsed = queueConfigSchema.safeParse(input ?? {});
  if (!parsed.success)
    throw new SluiceError(
      'invalid-input',
      parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; '),
    );
  return Object.freeze(parsed.data);
}

/** Lifetime counters of a queue (persisted with each commit that changes them). */
export interface QueueCounters {
  enqueued: number;
  delivered: number;
  acked: number;
  deadLettered: number;
  discarded: number;
  expired: number;
}

export const emptyCounters = (): QueueCounters => ({
  enqueued: 0,
  delivered: 0,
  acked: 0,
  deadLettered: 0,
  discarded: 0,
  expired: 0,
});

/** An entry waiting in memory for a consumer, with its message at hand. */
export interface ReadyEntry {
  readonly id: number;
  readonly message: StoredMessage;
  readonly deliveryCount: number;
  readonly firstDeliveredAt: number | null;
  /** Null until first delivered; a released entry keeps it for its dead message, should it die. */
  readonly lastDeliveredAt: number | null;
  /** Deliveries in earlier lives in a queue, before the DMQ sent it back (0 for a first life). */
  readonly priorDeliveries: number;
  readonly expiresAt: number | null;
  readonly size: number;
  readonly replayed: boolean;
}

/** An entry a consumer holds. */
export interface InFlightEntry extends ReadyEntry {
  readonly consumerId: string;
  readonly lastDeliveredAt: number;
}

/** How many ready entries a queue keeps in memory; the rest stay on disk (bounded memory). */
const readyBufferSize = 512;

/**
 * A queue's in-memory mirror of the store: depth, the head of its ready entries and what is in
 * flight. The ready buffer always holds the lowest-id ready entries, so delivery stays in order
 * while a million-message backlog stays on disk.
 */
export class QueueRuntime {
  /** Entries held (ready + in flight). */
  depth = 0;
  /** Bytes held. */
  bytes = 0;
  readonly inFlight = new Map<number, InFlightEntry>();
  counters: QueueCounters;
  /** Set when counters changed since the last commit. */
  countersChanged = false;

  private ready: ReadyEntry[] = [];
  /** More ready entries exist in the store beyond `lastBufferedId`. */
  private backlogInStore: boolean;
  private lastBufferedId = 0;
  private nextEntryId: number;

  constructor(
    readonly id: number,
    readonly name: string,
    public config: QueueConfig,
    totals: { count: number; bytes: number; maxId: number },
    counters: QueueCounters,
  ) {
    this.depth = totals.count;
    this.bytes = totals.bytes;
    this.nextEntryId = totals.maxId + 1;
    this.backlogInStore = totals.count > 0;
    this.counters = counters;
  }

  /** Entries waiting for a consumer. */
  get readyCount(): number {
    return this.depth - this.inFlight.size;
  }

  allocateEntryId(): number {
    return this.nextEntryId++;
  }

  /** The highest entry id handed out so far (persisted so ids never repeat). */
  get lastEntryId(): number {
    return this.nextEntryId - 1;
  }

  /** The next entry id, without taking it (a bulk copy numbers its entries from here). */
  peekNextEntryId(): number {
    return this.nextEntryId;
  }

  /** `count` entries with the next ids were written straight to the store (a replay chunk). */
  appendStored(count: number, bytes: number): void {
    if (count === 0) return;
    this.nextEntryId += count;
    this.depth += count;
    this.bytes += bytes;
    // They stay on disk; the ready buffer reads them in order when it runs dry.
    this.backlogInStore = true;
  }

  /** True when one more message of `size` bytes would break a depth limit. */
  wouldOverflow(size: number): boolean {
    return this.depth + 1 > this.config.maxDepthMessages || this.bytes + size > this.config.maxDepthBytes;
  }

  /** A new entry (highest id so far) becomes ready. */
  appendReady(entry: ReadyEntry): void {
    this.depth++;
    this.bytes += entry.size;
    if (!this.backlogInStore && this.ready.length < readyBufferSize) {
      this.ready.push(entry);
      this.lastBufferedId = entry.id;
    } else {
      this.backlogInStore = true;
    }
  }

  /** An in-flight entry comes back (released or failed): it goes before later entries. */
  returnReady(entry: ReadyEntry): void {
    let i = this.ready.length;
    while (i > 0 && this.ready[i - 1]!.id > entry.id) i--;
    this.ready.splice(i, 0, entry);
  }

  /** The oldest ready entry, reading the next page from the store when the buffer ran dry. */
  peekReady(store: SqliteStore): ReadyEntry | undefined {
    if (this.ready.length === 0 && this.backlogInStore) this.refill(store);
    return this.ready[0];
  }

  /** Removes the oldest ready entry (the one peekReady returned). */
  shiftReady(): ReadyEntry | undefined {
    return this.ready.shift();
  }

  /** Removes a specific ready entry from memory if buffered (expiry sweep). */
  dropBuffered(entryId: number): void {
    const i = this.ready.findIndex((e) => e.id === entryId);
    if (i >= 0) this.ready.splice(i, 1);
  }

  /** A held entry left the queue for good (acked, dead, discarded, purged). */
  removed(size: number): void {
    this.depth--;
    this.bytes -= size;
  }

  /** Forget memory state that may disagree with the store (after a failed commit, a purge). */
  reload(totals: { count: number; bytes: number }): void {
    this.depth = totals.count;
    this.bytes = totals.bytes;
    this.ready = [];
    this.lastBufferedId = 0;
    this.backlogInStore = true;
  }

  private refill(store: SqliteStore): void {
    const rows = store.readReady(this.id, this.lastBufferedId, readyBufferSize);
    // After a reload, entries returned since may already be buffered: never hold one twice.
    const buffered = new Set(this.ready.map((e) => e.id));
    for (const row of rows)
      if (!this.inFlight.has(row.id) && !buffered.has(row.id)) this.returnReady(toReadyEntry(row));
    if (rows.length > 0) this.lastBufferedId = rows[rows.length - 1]!.id;
    if (rows.length < readyBufferSize) this.backlogInStore = false;
  }
}

export function toReadyEntry(row: EntryWithMessage): ReadyEntry {
  return {
    id: row.id,
    message: row.message,
    deliveryCount: row.deliveryCount,
    firstDeliveredAt: row.firstDeliveredAt,
    lastDeliveredAt: row.lastDeliveredAt,
    priorDeliveries: row.priorDeliveries,
    expiresAt: row.expiresAt,
    size: row.size,
    replayed: row.replayed,
  };
}
