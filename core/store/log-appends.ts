import type Database from 'better-sqlite3';
import { BatchedInsert } from './batched-insert.ts';
import type { MessageDraft } from './store.ts';

const columns = ['id', 'ts', 'topic', 'payload', 'props', 'expires_at', 'dmq_eligible', 'size'];

/**
 * Appends to the message log, written in blocks. A publish takes its id at once (the next of an
 * AUTOINCREMENT counter kept here, as SQLite would assign it) and its row waits in memory until
 * the transaction's end or until a statement reads the log, then goes in a multi-row INSERT with
 * the others of its commit (core/store/batched-insert.ts). The durability contract is unchanged:
 * the rows are written before the commit that acknowledges them, in the same transaction.
 */
export class LogAppends {
  private readonly insert: BatchedInsert;
  private readonly pending: unknown[] = [];
  private nextId: number;

  constructor(db: Database.Database) {
    this.insert = new BatchedInsert(db, 'messages', columns);
    // AUTOINCREMENT never reuses an id, even of a deleted row: sqlite_sequence holds the highest.
    const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get() as
      { seq: number } | undefined;
    const max = db.prepare('SELECT max(id) AS id FROM messages').get() as { id: number | null };
    this.nextId = Math.max(sequence?.seq ?? 0, max.id ?? 0) + 1;
  }

  /** The highest id ever assigned, even if since deleted or still waiting to be written. */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** The position to go back to if the transaction fails (`discard`). */
  mark(): number {
    return this.nextId;
  }

  /** Assigns the next id to a log row; writes a full block when one is ready. */
  append(timestamp: number, m: MessageDraft): number {
    const id = this.nextId++;
    this.pending.push(id, timestamp, m.topic, m.payload, m.propsJson, m.expiresAt, m.dmqEligible ? 1 : 0, m.size);
    if (this.pending.length === this.insert.maxRows * this.insert.width) this.write();
    return id;
  }

  /** Writes the waiting rows (inside the open transaction). */
  write(): void {
    if (this.pending.length === 0) return;
    this.insert.run(this.pending);
    this.pending.length = 0;
  }

  /** After a rolled-back transaction: its rows are gone and their ids are free again, as in SQLite. */
  discard(mark: number): void {
    this.pending.length = 0;
    this.nextId = mark;
  }
}

/**
 * Wraps every statement of `statements` whose SQL names the `messages` table so that rows waiting
 * in `appends` are written before it runs: a replay, a count or a delete in the same transaction
 * sees every message appended before it.
 */
export function writeAppendsFirst<T extends Record<string, Database.Statement>>(statements: T, appends: LogAppends): T {
  const touchesLog = /(^|[^\w])messages\b/;
  const guarded: Record<string, Database.Statement> = { ...statements };
  for (const [name, statement] of Object.entries(statements)) {
    if (!touchesLog.test(statement.source)) continue;
    const first = <R>(call: () => R): R => {
      appends.write();
      return call();
    };
    // Only what the store calls: run, get, all and iterate, each after the waiting rows.
    guarded[name] = {
      source: statement.source,
      run: (...params: unknown[]) => first(() => statement.run(...params)),
      get: (...params: unknown[]) => first(() => statement.get(...params)),
      all: (...params: unknown[]) => first(() => statement.all(...params)),
      iterate: (...params: unknown[]) => first(() => statement.iterate(...params)),
    } as unknown as Database.Statement;
  }
  return guarded as T;
}
