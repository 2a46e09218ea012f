import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SluiceError } from '../errors.ts';
import { backupDatabase, type BackupProgress, type BackupResult } from './backup.ts';
import { writeAppendsFirst } from './log-appends.ts';
import { SqliteLog } from './sqlite-log.ts';
import { decodeEntryWithMessage, type Row } from './sqlite-statements.ts';
import { migrations } from './migrations/index.ts';
import type { EntryWithMessage, StoredEntry, StoredQueue, Tx } from './store.ts';

/** Options for opening the store. */
export interface SqliteStoreOptions {
  /** Path of the database file; its folder is created. */
  readonly file: string;
  /** Caps the database at this many pages (tests use it to simulate a full disk). */
  readonly maxPageCount?: number;
}

const TX = Symbol('tx');

/**
 * With SqliteLog, the only place that speaks SQL. Every statement is prepared once; writes take a `Tx`
 * so they can only run inside `transaction()` (one group commit). The log, dead message and
 * replay tables are SqliteLog's (core/store/sqlite-log.ts); queues and their entries are here.
 */
export class SqliteStore extends SqliteLog {
  private readonly txToken = { [TX]: true } as unknown as Tx;
  private inTransaction = false;

  private constructor(db: Database.Database) {
    super(db);
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
