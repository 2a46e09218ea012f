import type Database from 'better-sqlite3';
import { LogAppends, writeAppendsFirst } from './log-appends.ts';
import {
  decodeDead,
  decodeMessage,
  decodeReplay,
  encodeProps,
  prepareStatements,
  type MessageRow,
  type Row,
  type Statements,
} from './sqlite-statements.ts';
import type {
  DeadMessageQuery,
  MessageDraft,
  NewDeadMessage,
  StoredDeadMessage,
  StoredMessage,
  StoredReplay,
  Tx,
} from './store.ts';

/**
 * The message log's side of the store: meta, the log itself, replay's copy into a queue, dead
 * messages and replays. SqliteStore (core/store/sqlite-store.ts) extends it with the transaction,
 * queues and queue entries; nothing else extends or constructs it. Every statement is prepared
 * once here, guarded so that those naming the messages table see rows still waiting to be
 * written (core/store/log-appends.ts).
 */
export abstract class SqliteLog {
  protected readonly db: Database.Database;
  protected readonly s: Statements;
  protected readonly appends: LogAppends;

  private topicMatcher: (filter: string, topic: string) => boolean = (filter, topic) => filter === topic;

  protected constructor(db: Database.Database) {
    this.db = db;
    // Replay filters topics inside SQL; the MQTT matching rules stay in the engine (setTopicMatcher).
    db.function('sluice_topic_matches', { deterministic: true }, (filter, topic) =>
      this.topicMatcher(String(filter), String(topic)) ? 1 : 0,
    );
    this.appends = new LogAppends(db);
    this.s = writeAppendsFirst(prepareStatements(db), this.appends);
  }

  /** The engine's topic filter rules, used by `copyLogToQueue` (the store has no topic logic of its own). */
  setTopicMatcher(matches: (filter: string, topic: string) => boolean): void {
    this.topicMatcher = matches;
  }
  // ── meta ────────────────────────────────────────────────────────────────────────────
  getMeta(key: string): string | undefined {
    return (this.s.getMeta.get(key) as { value: string } | undefined)?.value;
  }
  setMeta(_tx: Tx, key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }

  // ── message log ─────────────────────────────────────────────────────────────────────
  /** Appends to the log; the row is written with the others of its commit (core/store/log-appends.ts). */
  appendMessage(_tx: Tx, timestamp: number, m: MessageDraft): number {
    return this.appends.append(timestamp, m);
  }

  /** Puts a message back under its original id (dead message redelivery); no-op if still there. */
  restoreMessage(_tx: Tx, m: StoredMessage): void {
    this.s.restoreMessage.run(
      m.id,
      m.timestamp,
      m.topic,
      m.payload,
      encodeProps(m.props),
      m.expiresAt,
      m.dmqEligible ? 1 : 0,
      m.size,
    );
  }

  getMessage(id: number): StoredMessage | undefined {
    const row = this.s.getMessage.get(id) as MessageRow | undefined;
    return row && decodeMessage(row);
  }

  /** Log rows with fromId <= id <= toId in order, at most `limit`. */
  readLog(fromId: number, toId: number, limit: number): StoredMessage[] {
    return (this.s.readLog.all(fromId, toId, limit) as MessageRow[]).map(decodeMessage);
  }

  /** Smallest and largest id in the log table (0, 0 when empty). */
  logBounds(): { firstId: number; lastId: number } {
    const row = this.s.logBounds.get() as { firstId: number | null; lastId: number | null };
    return { firstId: row.firstId ?? 0, lastId: row.lastId ?? 0 };
  }

  /** The highest id ever assigned, even if since deleted (sqlite_sequence). */
  lastAssignedMessageId(): number {
    return this.appends.lastId;
  }

  /** First message at or after `id`, with its timestamp. */
  firstAtOrAfter(id: number): { id: number; timestamp: number } | undefined {
    const row = this.s.firstAtOrAfter.get(id) as { id: number; ts: number } | undefined;
    return row && { id: row.id, timestamp: row.ts };
  }

  /** Count of log messages with fromId <= id <= toId (matching the MQTT topic `filter` when given). */
  countLog(fromId: number, toId: number, filter: string | null = null): number {
    if (filter === null) return (this.s.countLog.get(fromId, toId) as { n: number }).n;
    return (this.s.countLogMatching.get({ fromId, toId, filter }) as { n: number }).n;
  }

  /** Sum of message sizes with id >= fromId. */
  sumLogBytes(fromId: number): number {
    return (this.s.sumLogBytes.get(fromId) as { bytes: number }).bytes;
  }

  /** Sum of message sizes with fromId <= id < toId. */
  sumLogBytesBetween(fromId: number, toId: number): number {
    return (this.s.sumLogBytesBetween.get(fromId, toId) as { bytes: number }).bytes;
  }

  /** The last message before `id`, with its timestamp. */
  lastBefore(id: number): { id: number; timestamp: number } | undefined {
    const row = this.s.lastBefore.get(id) as { id: number; ts: number } | undefined;
    return row && { id: row.id, timestamp: row.ts };
  }

  /** Sizes of the oldest messages from `fromId`, for byte-based retention. */
  logSizesFrom(fromId: number, limit: number): Array<{ id: number; size: number }> {
    return this.s.logSizesFrom.all(fromId, limit) as Array<{ id: number; size: number }>;
  }

  /** Deletes up to `limit` messages below `beforeId` that no queue entry points at. */
  pruneLog(_tx: Tx, beforeId: number, afterId: number, limit: number): { deleted: number; lastId: number } {
    // The scan's end is read before deleting: read after, it missed the rows just deleted and the
    // cursor stood still whenever a batch deleted everything it scanned.
    const scanned = this.s.scanCursor.get(afterId, beforeId, limit) as { lastId: number | null };
    const rows = this.s.prunable.all(afterId, beforeId, limit) as Array<{ id: number }>;
    for (const row of rows) this.s.deleteMessage.run(row.id);
    return { deleted: rows.length, lastId: scanned.lastId ?? afterId };
  }

  /** Deletes one message if nothing references it any more (after retention passed it). */
  deleteMessageIfUnreferenced(_tx: Tx, id: number): void {
    this.s.deleteIfUnreferenced.run(id, id);
  }

  /**
   * Replay in SQL: copies the log messages with fromId <= id <= toId (matching `filter` when given;
   * at most `limit` of them and `maxBytes` in total) into a queue as ready replayed entries numbered
   * from `firstEntryId`. No payload crosses into JavaScript. `lastId` is the last log id handled:
   * `toId` when nothing was cut short, else the last message copied.
   */
  copyLogToQueue(
    _tx: Tx,
    a: {
      queueId: number;
      firstEntryId: number;
      fromId: number;
      toId: number;
      limit: number;
      maxBytes: number;
      ttlUntil: number | null;
      filter: string | null;
    },
  ): { copied: number; bytes: number; lastId: number; scanned: number } {
    const range = { fromId: a.fromId, toId: a.toId, limit: a.limit, filter: a.filter };
    const plan = this.s.replayPlan.get({ ...range, maxBytes: a.maxBytes }) as {
      matched: number;
      fitting: number;
      lastFitting: number | null;
      bytes: number | null;
    };
    const cut = plan.fitting < plan.matched || plan.matched === a.limit;
    const lastId = cut ? (plan.lastFitting ?? a.fromId - 1) : a.toId;
    if (plan.fitting > 0)
      this.s.replayCopy.run({
        ...range,
        toId: plan.lastFitting,
        queueId: a.queueId,
        firstEntryId: a.firstEntryId,
        ttlUntil: a.ttlUntil,
      });
    const scanned = lastId >= a.fromId ? this.countLog(a.fromId, lastId) : 0;
    return { copied: plan.fitting, bytes: plan.bytes ?? 0, lastId, scanned };
  }

  // ── dead messages ───────────────────────────────────────────────────────────────────
  insertDead(_tx: Tx, d: NewDeadMessage): number {
    const m = d.message;
    return Number(
      this.s.insertDead.run(
        d.dmq,
        m.id,
        m.timestamp,
        m.topic,
        m.payload,
        encodeProps(m.props),
        m.expiresAt,
        m.dmqEligible ? 1 : 0,
        m.size,
        d.queue,
        d.reason,
        d.deliveryCount,
        d.firstDeliveredAt,
        d.lastDeliveredAt,
        d.deadAt,
        d.consumer,
        d.error,
        d.priorDeliveries,
      ).lastInsertRowid,
    );
  }
  queryDead(q: DeadMessageQuery): StoredDeadMessage[] {
    const where: string[] = ['id > @afterId'];
    if (q.dmq !== undefined) where.push('dmq = @dmq');
    if (q.queue !== undefined) where.push('queue = @queue');
    if (q.reason !== undefined) where.push('reason = @reason');
    if (q.deadFrom !== undefined) where.push('dead_at >= @deadFrom');
    if (q.deadUntil !== undefined) where.push('dead_at <= @deadUntil');
    const sql = `SELECT * FROM dead_messages WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`;
    // A handful of filter shapes: cache one prepared statement per shape.
    let stmt = this.deadQueries.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.deadQueries.set(sql, stmt);
    }
    return (stmt.all({ ...q, afterId: q.afterId ?? 0 }) as Row[]).map(decodeDead);
  }
  private readonly deadQueries = new Map<string, Database.Statement>();

  getDead(id: number): StoredDeadMessage | undefined {
    const row = this.s.getDead.get(id) as Row | undefined;
    return row && decodeDead(row);
  }
  deleteDead(_tx: Tx, id: number): boolean {
    return this.s.deleteDead.run(id).changes > 0;
  }
  /** Dead message counts per DMQ and original queue. */
  deadCounts(): Array<{ dmq: string; queue: string; count: number }> {
    return this.s.deadCounts.all() as Array<{ dmq: string; queue: string; count: number }>;
  }
  /** Dead message counts per DMQ, original queue and reason. */
  deadCountsByReason(): Array<{ dmq: string; queue: string; reason: string; count: number }> {
    return this.s.deadCountsByReason.all() as Array<{ dmq: string; queue: string; reason: string; count: number }>;
  }

  // ── replays ─────────────────────────────────────────────────────────────────────────
  insertReplay(_tx: Tx, r: Omit<StoredReplay, 'id'>): number {
    return Number(
      this.s.insertReplay.run(
        r.specJson,
        r.state,
        r.startId,
        r.cursor,
        r.endId,
        r.scanned,
        r.replayed,
        r.total,
        r.inRange,
        r.createdAt,
        r.finishedAt,
        r.error,
      ).lastInsertRowid,
    );
  }
  updateReplay(_tx: Tx, r: StoredReplay): void {
    this.s.updateReplay.run(r.state, r.cursor, r.scanned, r.replayed, r.finishedAt, r.error, r.id);
  }
  listReplays(): StoredReplay[] {
    return (this.s.listReplays.all() as Row[]).map(decodeReplay);
  }
}
