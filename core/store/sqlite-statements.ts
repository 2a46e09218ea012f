import type Database from 'better-sqlite3';
import {
  StoredEntryState,
  type EntryWithMessage,
  type MessageProps,
  type StoredDeadMessage,
  type StoredMessage,
  type StoredReplay,
} from './store.ts';

/**
 * The store's prepared statements, one table (SqliteStore prepares it once per database), and the
 * decoders from their rows to the store's types. SqliteStore wraps the table with
 * `writeAppendsFirst` (core/store/log-appends.ts): every statement that names the messages table
 * runs after the log rows still waiting to be written.
 */

/** A result row as better-sqlite3 returns it. */
export type Row = Record<string, unknown>;

/** A row of the messages table. */
export interface MessageRow {
  id: number;
  ts: number;
  topic: string;
  payload: Buffer;
  props: string | null;
  expires_at: number | null;
  dmq_eligible: number;
  size: number;
}

/** The prepared statements, by name. */
export type Statements = ReturnType<typeof prepareStatements>;

/** Prepares every statement of the store once; `sluice_topic_matches` must be registered first. */
export function prepareStatements(db: Database.Database) {
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

/** A message's properties as stored: their JSON, or null when none is set. */
export function encodeProps(props: MessageProps): string | null {
  for (const key in props) if (props[key as keyof MessageProps] !== undefined) return JSON.stringify(props);
  return null;
}

/** A messages row as a StoredMessage. */
export function decodeMessage(row: MessageRow): StoredMessage {
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

/** A queue_entries row joined with its message (`entryColumns`). */
export function decodeEntryWithMessage(r: Row): EntryWithMessage {
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

/** A dead_messages row: the copied message plus the facts of its death. */
export function decodeDead(r: Row): StoredDeadMessage {
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

/** A replays row. */
export function decodeReplay(r: Row): StoredReplay {
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
