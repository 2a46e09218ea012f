import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SluiceError } from '../errors.ts';
import { backupDatabase, type BackupProgress, type BackupResult } from './backup.ts';
import { LogAppends, writeAppendsFirst } from './log-appends.ts';
import { migrations } from './migrations/index.ts';
import {
  StoredEntryState,
  type DeadMessageQuery,
  type EntryWithMessage,
  type MessageProps,
  type NewDeadMessage,
  type MessageDraft,
  type StoredDeadMessage,
  type StoredEntry,
  type StoredMessage,
  type StoredQueue,
  type StoredReplay,
  type Tx,
} from './store.ts';

/** Options for opening the store. */
export interface SqliteStoreOptions {
  /** Path of the database file; its folder is created. */
  readonly file: string;
  /** Caps the database at this many pages (tests use it to simulate a full disk). */
  readonly maxPageCount?: number;
}

type Row = Record<string, unknown>;

interface MessageRow {
  id: number;
  ts: number;
  topic: string;
  payload: Buffer;
  props: string | null;
  expires_at: number | null;
  dmq_eligible: number;
  size: number;
}

const TX = Symbol('tx');

/**
 * The only place that speaks SQL. Every statement is prepared once; writes take a `Tx`
 * so they can only run inside `transaction()` (one group commit).
 */
export class SqliteStore {
  private readonly db: Database.Database;
  private readonly s: ReturnType<typeof prepareStatements>;
  private readonly appends: LogAppends;
  private readonly txToken = { [TX]: true } as unknown as Tx;
  private inTransaction = false;

  private topicMatcher: (filter: string, topic: string) => boolean = (filter, topic) => filter === topic;

  private constructor(db: Database.Database) {
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

  static open(options: SqliteStoreOptions): SqliteStore {
    mkdirSync(dirname(options.file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(options.file);
      // DESIGN.md durability contract: WAL with synchronous=FULL, every commit fsynced.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = OFF');
      // Keep the WAL from growing without bound under steady load.
      db.pragma('wal_autocheckpoint = 4000');
      // The store holds password hashes and every message: owner-only (docs/security.md).
      // SQLite gives the -wal and -shm files the database file's mode.
      for (const suffix of ['', '-wal', '-shm'])
        if (existsSync(options.file + suffix)) chmodSync(options.file + suffix, 0o600);
      db.pragma('cache_size = -32000');
      if (options.maxPageCount !== undefined) db.pragma(`max_page_count = ${options.maxPageCount}`);
      migrate(db);
    } catch (error) {
      throw translateSqliteError(error, `opening ${options.file}`);
    }
    return new SqliteStore(db);
  }

  /** Runs `work` in one write transaction (one fsync). SQLite failures become store-full / store-error. */
  transaction<T>(work: (tx: Tx) => T): T {
    if (this.inTransaction) throw new Error('SqliteStore.transaction is not re-entrant');
    this.inTransaction = true;
    const mark = this.appends.mark();
    try {
      return this.db.transaction(() => {
        const result = work(this.txToken);
        this.appends.write();
        return result;
      })();
    } catch (error) {
      this.appends.discard(mark);
      throw translateSqliteError(error, 'committing');
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * The open database, for other store modules only (core/store/mqtt-*.ts): they prepare their
   * own statements and write only inside `transaction()` / a group commit's `tx`.
   */
  get database(): Database.Database {
    return this.db;
  }

  /**
   * For other store modules' statements that read or delete log rows: they run after the rows
   * still waiting to be written (core/store/log-appends.ts), as this store's own do.
   */
  guardLogReads<T extends Record<string, Database.Statement>>(statements: T): T {
    return writeAppendsFirst(statements, this.appends);
  }

  /** Changes the page cap at run time (tests: "space returns"). */
  setMaxPageCount(pages: number): void {
    this.db.pragma(`max_page_count = ${pages}`);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A failed checkpoint leaves a valid WAL behind; SQLite replays it on the next open.
    }
    this.db.close();
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

  // ── queues ──────────────────────────────────────────────────────────────────────────
  listQueues(): StoredQueue[] {
    return (this.s.listQueues.all() as Row[]).map((r) => ({
      id: r['id'] as number,
      name: r['name'] as string,
      configJson: r['config'] as string,
      countersJson: r['counters'] as string,
      lastEntryId: r['last_entry_id'] as number,
      createdAt: r['created_at'] as number,
    }));
  }
  insertQueue(_tx: Tx, name: string, configJson: string, createdAt: number): number {
    return Number(this.s.insertQueue.run(name, configJson, createdAt).lastInsertRowid);
  }
  updateQueueConfig(_tx: Tx, id: number, configJson: string): void {
    this.s.updateQueueConfig.run(configJson, id);
  }
  /** Persists a queue's counters and the highest entry id it assigned. */
  updateQueueCounters(_tx: Tx, id: number, countersJson: string, lastEntryId: number): void {
    this.s.updateQueueCounters.run(countersJson, lastEntryId, id);
  }
  deleteQueue(_tx: Tx, id: number): void {
    this.s.deleteQueueEntries.run(id);
    this.s.deleteQueue.run(id);
  }

  // ── queue entries ───────────────────────────────────────────────────────────────────
  insertEntry(_tx: Tx, e: StoredEntry): void {
    this.s.insertEntry.run(
      e.queueId,
      e.id,
      e.messageId,
      e.state,
      e.deliveryCount,
      e.firstDeliveredAt,
      e.lastDeliveredAt,
      e.expiresAt,
      e.size,
      e.replayed ? 1 : 0,
      e.priorDeliveries,
    );
  }
  markInFlight(_tx: Tx, queueId: number, id: number, deliveryCount: number, at: number): void {
    this.s.markInFlight.run(deliveryCount, at, at, queueId, id);
  }
  makeReady(_tx: Tx, queueId: number, id: number, deliveryCount: number): void {
    this.s.makeReady.run(deliveryCount, queueId, id);
  }
  deleteEntry(_tx: Tx, queueId: number, id: number): void {
    this.s.deleteEntry.run(queueId, id);
  }
  /** Removes every ready entry of a queue; returns how many and their bytes. */
  purgeReady(_tx: Tx, queueId: number): { count: number; bytes: number } {
    const totals = this.s.readyTotals.get(queueId) as { n: number; bytes: number | null };
    this.s.purgeReady.run(queueId);
    return { count: totals.n, bytes: totals.bytes ?? 0 };
  }
  /** Ready entries after `afterId` in delivery order, with their messages. */
  readReady(queueId: number, afterId: number, limit: number): EntryWithMessage[] {
    return (this.s.readReady.all(queueId, afterId, limit) as Row[]).map(decodeEntryWithMessage);
  }
  /** Any entries (ready or in flight) after `afterId`, for browsing. */
  browseEntries(queueId: number, afterId: number, limit: number): EntryWithMessage[] {
    return (this.s.browseEntries.all(queueId, afterId, limit) as Row[]).map(decodeEntryWithMessage);
  }
  getEntry(queueId: number, id: number): EntryWithMessage | undefined {
    const row = this.s.getEntry.get(queueId, id) as Row | undefined;
    return row && decodeEntryWithMessage(row);
  }
  /** Per queue: entry count, bytes, in-flight count, highest entry id. */
  queueTotals(): Map<number, { count: number; bytes: number; maxId: number }> {
    const totals = new Map<number, { count: number; bytes: number; maxId: number }>();
    for (const r of this.s.queueTotals.all() as Array<{ queue_id: number; n: number; bytes: number; maxId: number }>)
      totals.set(r.queue_id, { count: r.n, bytes: r.bytes, maxId: r.maxId });
    return totals;
  }
  queueTotalsOf(queueId: number): { count: number; bytes: number } {
    const r = this.s.queueTotalsOf.get(queueId) as { n: number; bytes: number | null };
    return { count: r.n, bytes: r.bytes ?? 0 };
  }
  /** DESIGN.md: on restart, in-flight entries become ready again with their delivery count kept. */
  resetInFlight(_tx: Tx): number {
    return this.s.resetInFlight.run().changes;
  }
  /** Entries the store holds as in flight (at open: those of the process before). */
  inFlightEntries(): Array<{ queueId: number; id: number }> {
    return (this.s.inFlightEntries.all() as Array<{ queue_id: number; id: number }>).map((r) => ({
      queueId: r.queue_id,
      id: r.id,
    }));
  }
  /** Makes these entries ready again if they are still in flight; answers how many changed. */
  resetEntries(_tx: Tx, entries: ReadonlyArray<{ queueId: number; id: number }>): number {
    let changed = 0;
    for (const entry of entries) changed += this.s.resetEntry.run(entry.queueId, entry.id).changes;
    return changed;
  }
  /** Ready entries whose expiry has passed, oldest expiry first. */
  expiredReady(now: number, limit: number): EntryWithMessage[] {
    return (this.s.expiredReady.all(now, limit) as Row[]).map(decodeEntryWithMessage);
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

  // ── size ────────────────────────────────────────────────────────────────────────────
  /** Bytes used by the database file (pages × page size), excluding the WAL. */
  databaseBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const freePages = this.db.pragma('freelist_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return (pages - freePages) * pageSize;
  }

  /** Online backup of this store into `file` while it keeps serving (core/store/backup.ts). */
  backup(file: string, onProgress?: (progress: BackupProgress) => void): Promise<BackupResult> {
    return backupDatabase(this.db, file, onProgress);
  }

  /** The database file's path. */
  get file(): string {
    return this.db.name;
  }

  /** Runs SQLite's own consistency check; returns 'ok' or the problems found. */
  integrityCheck(): string {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((r) => r.integrity_check)
      .join('\n');
  }
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.up);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}

function prepareStatements(db: Database.Database) {
  const entryColumns = `e.queue_id, e.id AS entry_id, e.message_id, e.state, e.delivery_count, e.first_delivered_at,
    e.last_delivered_at, e.expires_at AS entry_expires_at, e.size AS entry_size, e.replayed, e.prior_deliveries,
    m.id, m.ts, m.topic, m.payload, m.props, m.expires_at, m.dmq_eligible, m.size`;
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
    restoreMessage: db.prepare(
      'INSERT OR IGNORE INTO messages (id, ts, topic, payload, props, expires_at, dmq_eligible, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getMessage: db.prepare('SELECT * FROM messages WHERE id = ?'),
    readLog: db.prepare('SELECT * FROM messages WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?'),
    logBounds: db.prepare('SELECT min(id) AS firstId, max(id) AS lastId FROM messages'),
    firstAtOrAfter: db.prepare('SELECT id, ts FROM messages WHERE id >= ? ORDER BY id LIMIT 1'),
    countLog: db.prepare('SELECT count(*) AS n FROM messages WHERE id >= ? AND id <= ?'),
    countLogMatching: db.prepare(
      'SELECT count(*) AS n FROM messages WHERE id >= @fromId AND id <= @toId AND sluice_topic_matches(@filter, topic)',
    ),
    sumLogBytes: db.prepare('SELECT coalesce(sum(size), 0) AS bytes FROM messages WHERE id >= ?'),
    sumLogBytesBetween: db.prepare('SELECT coalesce(sum(size), 0) AS bytes FROM messages WHERE id >= ? AND id < ?'),
    lastBefore: db.prepare('SELECT id, ts FROM messages WHERE id < ? ORDER BY id DESC LIMIT 1'),
    logSizesFrom: db.prepare('SELECT id, size FROM messages WHERE id >= ? ORDER BY id LIMIT ?'),
    prunable: db.prepare(
      `SELECT m.id FROM (SELECT id FROM messages WHERE id > ? AND id < ? ORDER BY id LIMIT ?) m
       WHERE NOT EXISTS (SELECT 1 FROM queue_entries e WHERE e.message_id = m.id)`,
    ),
    scanCursor: db.prepare(
      'SELECT max(id) AS lastId FROM (SELECT id FROM messages WHERE id > ? AND id < ? ORDER BY id LIMIT ?)',
    ),
    deleteMessage: db.prepare('DELETE FROM messages WHERE id = ?'),
    deleteIfUnreferenced: db.prepare(
      'DELETE FROM messages WHERE id = ? AND NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = ?)',
    ),
    // The next replay chunk: matching messages up to `limit`, and how many of them fit in `maxBytes`.
    replayPlan: db.prepare(
      `SELECT count(*) AS matched, count(CASE WHEN running <= @maxBytes THEN 1 END) AS fitting,
         max(CASE WHEN running <= @maxBytes THEN id END) AS lastFitting,
         max(CASE WHEN running <= @maxBytes THEN running END) AS bytes
       FROM (SELECT id, sum(size) OVER (ORDER BY id) AS running FROM (
         SELECT id, size FROM messages WHERE id >= @fromId AND id <= @toId
           AND (@filter IS NULL OR sluice_topic_matches(@filter, topic)) ORDER BY id LIMIT @limit))`,
    ),
    replayCopy: db.prepare(
      `INSERT INTO queue_entries (queue_id, id, message_id, state, delivery_count, expires_at, size, replayed)
       SELECT @queueId, @firstEntryId - 1 + row_number() OVER (ORDER BY id), id, ${StoredEntryState.Ready}, 0,
         CASE WHEN @ttlUntil IS NULL THEN expires_at WHEN expires_at IS NULL THEN @ttlUntil
           ELSE min(expires_at, @ttlUntil) END, size, 1
       FROM messages WHERE id >= @fromId AND id <= @toId
         AND (@filter IS NULL OR sluice_topic_matches(@filter, topic))`,
    ),
    listQueues: db.prepare('SELECT * FROM queues ORDER BY name'),
    insertQueue: db.prepare('INSERT INTO queues (name, config, created_at) VALUES (?, ?, ?)'),
    updateQueueConfig: db.prepare('UPDATE queues SET config = ? WHERE id = ?'),
    updateQueueCounters: db.prepare(
      'UPDATE queues SET counters = ?, last_entry_id = max(last_entry_id, ?) WHERE id = ?',
    ),
    deleteQueue: db.prepare('DELETE FROM queues WHERE id = ?'),
    deleteQueueEntries: db.prepare('DELETE FROM queue_entries WHERE queue_id = ?'),
    insertEntry: db.prepare(
      `INSERT INTO queue_entries (queue_id, id, message_id, state, delivery_count, first_delivered_at,
        last_delivered_at, expires_at, size, replayed, prior_deliveries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    markInFlight: db.prepare(
      `UPDATE queue_entries SET state = ${StoredEntryState.InFlight}, delivery_count = ?,
        first_delivered_at = coalesce(first_delivered_at, ?), last_delivered_at = ? WHERE queue_id = ? AND id = ?`,
    ),
    makeReady: db.prepare(
      `UPDATE queue_entries SET state = ${StoredEntryState.Ready}, delivery_count = ? WHERE queue_id = ? AND id = ?`,
    ),
    deleteEntry: db.prepare('DELETE FROM queue_entries WHERE queue_id = ? AND id = ?'),
    readyTotals: db.prepare(
      `SELECT count(*) AS n, sum(size) AS bytes FROM queue_entries WHERE queue_id = ? AND state = ${StoredEntryState.Ready}`,
    ),
    purgeReady: db.prepare(`DELETE FROM queue_entries WHERE queue_id = ? AND state = ${StoredEntryState.Ready}`),
    readReady: db.prepare(
      `SELECT ${entryColumns} FROM queue_entries e JOIN messages m ON m.id = e.message_id
       WHERE e.queue_id = ? AND e.id > ? AND e.state = ${StoredEntryState.Ready} ORDER BY e.id LIMIT ?`,
    ),
    browseEntries: db.prepare(
      `SELECT ${entryColumns} FROM queue_entries e JOIN messages m ON m.id = e.message_id
       WHERE e.queue_id = ? AND e.id > ? ORDER BY e.id LIMIT ?`,
    ),
    getEntry: db.prepare(
      `SELECT ${entryColumns} FROM queue_entries e JOIN messages m ON m.id = e.message_id
       WHERE e.queue_id = ? AND e.id = ?`,
    ),
    queueTotals: db.prepare(
      'SELECT queue_id, count(*) AS n, coalesce(sum(size), 0) AS bytes, max(id) AS maxId FROM queue_entries GROUP BY queue_id',
    ),
    queueTotalsOf: db.prepare('SELECT count(*) AS n, sum(size) AS bytes FROM queue_entries WHERE queue_id = ?'),
    resetInFlight: db.prepare(
      `UPDATE queue_entries SET state = ${StoredEntryState.Ready} WHERE state = ${StoredEntryState.InFlight}`,
    ),
    inFlightEntries: db.prepare(
      `SELECT queue_id, id FROM queue_entries WHERE state = ${StoredEntryState.InFlight} ORDER BY queue_id, id`,
    ),
    resetEntry: db.prepare(
      `UPDATE queue_entries SET state = ${StoredEntryState.Ready}
       WHERE queue_id = ? AND id = ? AND state = ${StoredEntryState.InFlight}`,
    ),
    expiredReady: db.prepare(
      `SELECT ${entryColumns} FROM queue_entries e JOIN messages m ON m.id = e.message_id
       WHERE e.expires_at IS NOT NULL AND e.expires_at <= ? AND e.state = ${StoredEntryState.Ready}
       ORDER BY e.expires_at LIMIT ?`,
    ),
    insertDead: db.prepare(
      `INSERT INTO dead_messages (dmq, message_id, ts, topic, payload, props, expires_at, dmq_eligible, size, queue,
        reason, delivery_count, first_delivered_at, last_delivered_at, dead_at, consumer, error, prior_deliveries)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getDead: db.prepare('SELECT * FROM dead_messages WHERE id = ?'),
    deleteDead: db.prepare('DELETE FROM dead_messages WHERE id = ?'),
    deadCounts: db.prepare('SELECT dmq, queue, count(*) AS count FROM dead_messages GROUP BY dmq, queue'),
    deadCountsByReason: db.prepare(
      'SELECT dmq, queue, reason, count(*) AS count FROM dead_messages GROUP BY dmq, queue, reason',
    ),
    insertReplay: db.prepare(
      `INSERT INTO replays (spec, state, start_id, cursor, end_id, scanned, replayed, total, in_range, created_at,
        finished_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateReplay: db.prepare(
      'UPDATE replays SET state = ?, cursor = ?, scanned = ?, replayed = ?, finished_at = ?, error = ? WHERE id = ?',
    ),
    listReplays: db.prepare('SELECT * FROM replays ORDER BY id'),
  };
}

function encodeProps(props: MessageProps): string | null {
  for (const key in props) if (props[key as keyof MessageProps] !== undefined) return JSON.stringify(props);
  return null;
}

function decodeMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    timestamp: row.ts,
    topic: row.topic,
    payload: row.payload,
    props: row.props ? (JSON.parse(row.props) as MessageProps) : {},
    expiresAt: row.expires_at,
    dmqEligible: row.dmq_eligible === 1,
    size: row.size,
  };
}

function decodeEntryWithMessage(r: Row): EntryWithMessage {
  return {
    queueId: r['queue_id'] as number,
    id: r['entry_id'] as number,
    messageId: r['message_id'] as number,
    state: r['state'] as StoredEntryState,
    deliveryCount: r['delivery_count'] as number,
    firstDeliveredAt: r['first_delivered_at'] as number | null,
    lastDeliveredAt: r['last_delivered_at'] as number | null,
    expiresAt: r['entry_expires_at'] as number | null,
    size: r['entry_size'] as number,
    replayed: r['replayed'] === 1,
    priorDeliveries: r['prior_deliveries'] as number,
    message: decodeMessage(r as unknown as MessageRow),
  };
}

function decodeDead(r: Row): StoredDeadMessage {
  return {
    id: r['id'] as number,
    dmq: r['dmq'] as string,
    message: decodeMessage({ ...(r as unknown as MessageRow), id: r['message_id'] as number }),
    queue: r['queue'] as string,
    reason: r['reason'] as string,
    deliveryCount: r['delivery_count'] as number,
    priorDeliveries: r['prior_deliveries'] as number,
    firstDeliveredAt: r['first_delivered_at'] as number | null,
    lastDeliveredAt: r['last_delivered_at'] as number | null,
    deadAt: r['dead_at'] as number,
    consumer: r['consumer'] as string | null,
    error: r['error'] as string | null,
  };
}

function decodeReplay(r: Row): StoredReplay {
  return {
    id: r['id'] as number,
    specJson: r['spec'] as string,
    state: r['state'] as string,
    startId: r['start_id'] as number,
    cursor: r['cursor'] as number,
    endId: r['end_id'] as number,
    scanned: r['scanned'] as number,
    replayed: r['replayed'] as number,
    total: r['total'] as number,
    inRange: r['in_range'] as number,
    createdAt: r['created_at'] as number,
    finishedAt: r['finished_at'] as number | null,
    error: r['error'] as string | null,
  };
}

/** SQLite's words → the error catalog. A full disk is its own code so publishers hear "full". */
function translateSqliteError(error: unknown, during: string): unknown {
  if (error instanceof SluiceError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL')
    return new SluiceError('store-full', `The broker's disk or database size limit is reached while ${during}`);
  if (code.startsWith('SQLITE_'))
    return new SluiceError('store-error', `SQLite failed while ${during}: ${(error as Error).message} (${code})`);
  return error;
}
