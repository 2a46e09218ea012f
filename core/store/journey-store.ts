import type Database from 'better-sqlite3';
import { BatchedInsert } from './batched-insert.ts';
import type { Tx } from './store.ts';

/** One journey row as stored (migration 009). */
export interface JourneyRow {
  readonly messageId: number;
  /** Microseconds since the epoch; unique and increasing across the broker. */
  readonly atUs: number;
  /** The engine's step code (core/engine/journey.ts). */
  readonly kind: number;
  readonly queueId: number | null;
  readonly entryId: number | null;
  readonly consumer: string | null;
  /** JSON with the step's facts (error text, DMQ, reason, replay), or null. */
  readonly detail: string | null;
}

/** A queue entry of a message as it is now. */
export interface JourneyEntry {
  readonly queueId: number;
  readonly entryId: number;
  readonly inFlight: boolean;
  readonly deliveryCount: number;
  readonly replayed: boolean;
}

/** A dead copy of a message as it is now, with the facts a journey shows when the log row is gone. */
export interface JourneyDeadCopy {
  readonly id: number;
  readonly dmq: string;
  readonly queue: string;
  readonly reason: string;
  readonly deadAt: number;
  readonly ts: number;
  readonly topic: string;
  readonly props: string | null;
  readonly size: number;
}

const columnList = ['message_id', 'at_us', 'kind', 'queue_id', 'entry_id', 'consumer', 'detail'];
/** Values per buffered row, in column order: message_id, at_us, kind, queue_id, entry_id, consumer, detail. */
export const journeyColumns = columnList.length;

const columns = columnList.join(', ');

/**
 * SQL for the message journey (migration 009). Writes take a `Tx`: they ride the engine's group
 * commit, in the transaction of the state change they record (DESIGN.md: durability contract).
 */
export class JourneyStore {
  private readonly s: ReturnType<typeof prepare>;
  private readonly inserts: BatchedInsert;

  /** `guardLogReads`: SqliteStore's, so that statements reading the log see rows still waiting to be written. */
  constructor(db: Database.Database, guardLogReads: <T extends Record<string, Database.Statement>>(s: T) => T) {
    this.s = guardLogReads(prepare(db));
    // A commit's steps go in a few statements, not one each.
    this.inserts = new BatchedInsert(db, 'journey_events', columnList);
  }

  /** Writes buffered rows: `values` holds `journeyColumns` values per row. */
  insert(_tx: Tx, values: ReadonlyArray<number | string | null>): void {
    this.inserts.run(values);
  }

  /**
   * One step for each entry of a queue (only ready ones with `readyOnly`), read before they are
   * deleted (purge, queue deletion). Entry k is stamped `atUs + k`; returns how many were written.
   */
  recordQueueEntries(
    _tx: Tx,
    a: { queueId: number; atUs: number; kind: number; readyOnly: boolean; detail: string | null },
  ): number {
    return this.s.recordQueueEntries.run({ ...a, readyOnly: a.readyOnly ? 1 : 0 }).changes;
  }

  /** One step for each in-flight entry (they are about to return to ready after a restart). */
  recordInFlight(_tx: Tx, a: { atUs: number; kind: number }): number {
    return this.s.recordInFlight.run(a).changes;
  }

  /** One step for each entry with `fromEntryId <= id < fromEntryId + count` (a replay chunk's copies). */
  recordEntryRange(
    _tx: Tx,
    a: { queueId: number; fromEntryId: number; count: number; atUs: number; kind: number; detail: string | null },
  ): number {
    return this.s.recordEntryRange.run(a).changes;
  }

  /**
   * Deletes the journeys of messages with afterId < id <= toId that are gone: no log row and no
   * dead copy. Runs after the commit's steps are written, so a step about a message deleted in
   * the same commit goes with it.
   */
  forget(_tx: Tx, afterId: number, toId: number): number {
    return this.s.forget.run({ afterId, toId }).changes;
  }

  /** A message's steps in order. */
  events(messageId: number): JourneyRow[] {
    return (this.s.events.all(messageId) as RawRow[]).map((r) => ({
      messageId: r.message_id,
      atUs: r.at_us,
      kind: r.kind,
      queueId: r.queue_id,
      entryId: r.entry_id,
      consumer: r.consumer,
      detail: r.detail,
    }));
  }

  /** The message's queue entries now. */
  entries(messageId: number): JourneyEntry[] {
    return (
      this.s.entries.all(messageId) as Array<{
        queue_id: number;
        id: number;
        state: number;
        delivery_count: number;
        replayed: number;
      }>
    ).map((r) => ({
      queueId: r.queue_id,
      entryId: r.id,
      inFlight: r.state === 1,
      deliveryCount: r.delivery_count,
      replayed: r.replayed === 1,
    }));
  }

  /** The message's dead copies now, oldest first. */
  deadCopies(messageId: number): JourneyDeadCopy[] {
    return (this.s.deadCopies.all(messageId) as Array<Record<string, unknown>>).map((r) => ({
      id: r['id'] as number,
      dmq: r['dmq'] as string,
      queue: r['queue'] as string,
      reason: r['reason'] as string,
      deadAt: r['dead_at'] as number,
      ts: r['ts'] as number,
      topic: r['topic'] as string,
      props: r['props'] as string | null,
      size: r['size'] as number,
    }));
  }

  /** Rows the journey table holds (tests: pruning keeps it bounded). */
  rowCount(): number {
    return (this.s.count.get() as { n: number }).n;
  }
}

interface RawRow {
  message_id: number;
  at_us: number;
  kind: number;
  queue_id: number | null;
  entry_id: number | null;
  consumer: string | null;
  detail: string | null;
}

function prepare(db: Database.Database) {
  return {
    recordQueueEntries: db.prepare(
      `INSERT INTO journey_events (message_id, at_us, kind, queue_id, entry_id, detail)
       SELECT message_id, @atUs - 1 + row_number() OVER (ORDER BY id), @kind, queue_id, id, @detail FROM queue_entries
       WHERE queue_id = @queueId AND (@readyOnly = 0 OR state = 0)`,
    ),
    recordInFlight: db.prepare(
      `INSERT INTO journey_events (message_id, at_us, kind, queue_id, entry_id)
       SELECT message_id, @atUs - 1 + row_number() OVER (ORDER BY queue_id, id), @kind, queue_id, id
       FROM queue_entries WHERE state = 1`,
    ),
    recordEntryRange: db.prepare(
      `INSERT INTO journey_events (message_id, at_us, kind, queue_id, entry_id, detail)
       SELECT message_id, @atUs + id - @fromEntryId, @kind, queue_id, id, @detail FROM queue_entries
       WHERE queue_id = @queueId AND id >= @fromEntryId AND id < @fromEntryId + @count`,
    ),
    forget: db.prepare(
      `DELETE FROM journey_events WHERE message_id > @afterId AND message_id <= @toId
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = journey_events.message_id)
         AND NOT EXISTS (SELECT 1 FROM dead_messages d WHERE d.message_id = journey_events.message_id)`,
    ),
    events: db.prepare(`SELECT ${columns} FROM journey_events WHERE message_id = ? ORDER BY at_us`),
    entries: db.prepare(
      'SELECT queue_id, id, state, delivery_count, replayed FROM queue_entries WHERE message_id = ? ORDER BY queue_id, id',
    ),
    deadCopies: db.prepare(
      'SELECT id, dmq, queue, reason, dead_at, ts, topic, props, size FROM dead_messages WHERE message_id = ? ORDER BY id',
    ),
    count: db.prepare('SELECT count(*) AS n FROM journey_events'),
  };
}
