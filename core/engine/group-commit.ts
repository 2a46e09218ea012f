import { SluiceError } from '../errors.ts';
import type { SqliteStore } from '../store/sqlite-store.ts';
import type { Tx } from '../store/store.ts';

/**
 * One group commit in progress. Operations write through `tx`; what others may observe
 * (resolving a publisher, handing a message to a consumer) is deferred with `after`,
 * so nothing is acknowledged or delivered before its commit (DESIGN.md: durability contract).
 */
export interface Flush {
  readonly tx: Tx;
  /** Wall-clock time of this commit, shared by every operation in it. */
  readonly now: number;
  /** Runs once the commit is durable. */
  after(effect: () => void): void;
  /** Reverses an in-memory change if the commit fails. */
  undo(revert: () => void): void;
}

/** An operation run inside a group commit. Throwing a SluiceError fails this operation only. */
export type Operation<T> = (flush: Flush) => T;

/** Publishes are told apart so they can be refused alone when the disk is full. */
export type OperationKind = 'publish' | 'other';

/** How an operation's outcome is answered: an error (a SluiceError from a commit), or null and its result. */
export type Done<T> = (error: Error | null, value?: T) => void;

interface Pending {
  readonly run: (flush: Flush, arg: unknown) => unknown;
  /** Given to `run`: a publish passes its message instead of a closure per message. */
  readonly arg: unknown;
  readonly kind: OperationKind;
  readonly done: Done<unknown>;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: SluiceError };

/** What the engine does at the edges of each commit. */
export interface CommitHooks {
  /** At the start of each transaction, before its operations: note what a rollback puts back. */
  begin(): void;
  /** Inside the transaction, after the operations: dispatch to consumers, persist counters. */
  beforeCommit(flush: Flush): void;
  /** After a failed commit: rebuild in-memory state that mirrors the store. */
  afterRollback(error: SluiceError): void;
  /** After each successful commit, for metrics. */
  committed(durationMs: number, operations: number): void;
  /** An after-commit effect threw (a consumer callback, say); the commit stands. */
  effectFailed(error: unknown): void;
  /** A publish was refused in its commit (validation, a full queue, the store), for metrics. */
  publishRefused(): void;
}

/**
 * Group commit (DESIGN.md): every operation submitted while the event loop is busy (including
 * while a commit fsyncs) joins the next commit, so throughput rises with load and each
 * operation waits for at most one commit in progress plus its own.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly store: SqliteStore,
    private readonly hooks: CommitHooks,
  ) {}

  /** Queues `run` for the next commit; resolves with its result once durable. */
  submit<T>(run: Operation<T>, kind: OperationKind = 'other'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue(run, undefined, kind, (error, value) => (error ? reject(error) : resolve(value as T)));
    });
  }

  /**
   * `submit` answered through `done` instead of a promise, never before this call returns, with
   * `arg` given to `run`: the path of a publish per packet, where a promise and its reactions per
   * message showed in the broker's profile. An exception thrown by `done` is reported
   * (`effectFailed`), not raised.
   */
  enqueue<A, T>(run: (flush: Flush, arg: A) => T, arg: A, kind: OperationKind, done: Done<T>): void {
    if (this.closed) {
      queueMicrotask(() => done(new SluiceError('broker-closing', 'The broker is shutting down')));
      return;
    }
    this.pending.push({ run: run as Pending['run'], arg, kind, done: done as Done<unknown> });
    this.schedule();
  }

  /** Asks for a commit even with no operation pending (e.g. new consumer credit to dispatch). */
  kick(): void {
    if (!this.closed) this.schedule();
  }

  /** Commits what is pending, then refuses new work. */
  async close(): Promise<void> {
    if (this.pending.length > 0) await this.submit(() => undefined);
    this.closed = true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this loop turn: everything that arrived
    // in one read burst shares the commit.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const started = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = this.attempt(batch);
    } catch (firstError) {
      const error = asStoreError(firstError);
      if (error.code !== 'store-full') {
        for (const op of batch) this.answer(op, error);
        return;
      }
      // DESIGN.md: disk full refuses publishes but keeps serving consumers. Acks and other
      // settlements usually free space, so retry them alone.
      const others = batch.filter((op) => op.kind !== 'publish');
      for (const op of batch) if (op.kind === 'publish') this.answer(op, error);
      try {
        outcomes = this.attempt(others);
      } catch (secondError) {
        for (const op of others) this.answer(op, asStoreError(secondError));
        return;
      }
      batch.length = 0;
      batch.push(...others);
    }
    this.hooks.committed(performance.now() - started, batch.length);
    for (let i = 0; i < batch.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) this.answer(batch[i]!, null, outcome.value);
      else this.answer(batch[i]!, outcome.error);
    }
  }

  /** Calls an operation's `done`; one that throws does not keep the others of its commit unanswered. */
  private answer(op: Pending, error: SluiceError | null, value?: unknown): void {
    if (error && op.kind === 'publish') this.hooks.publishRefused();
    try {
      op.done(error, value);
    } catch (thrown) {
      this.hooks.effectFailed(thrown);
    }
  }

  /** One transaction over `ops`; returns per-operation outcomes, or throws if the commit failed. */
  private attempt(ops: Pending[]): Outcome[] {
    const afters: Array<() => void> = [];
    const undos: Array<() => void> = [];
    const outcomes: Outcome[] = [];
    try {
      this.store.transaction((tx) => {
        this.hooks.begin();
        const flush: Flush = {
          tx,
          now: Date.now(),
          after: (effect) => afters.push(effect),
          undo: (revert) => undos.push(revert),
        };
        for (const op of ops) {
          try {
            outcomes.push({ ok: true, value: op.run(flush, op.arg) });
          } catch (error) {
            // Operations validate before they write, so a SluiceError leaves nothing behind.
            if (!(error instanceof SluiceError)) throw error;
            outcomes.push({ ok: false, error });
          }
        }
        this.hooks.beforeCommit(flush);
      });
    } catch (error) {
      for (let i = undos.length - 1; i >= 0; i--) undos[i]!();
      const failure = asStoreError(error);
      this.hooks.afterRollback(failure);
      throw failure;
    }
    for (const effect of afters) {
      try {
        effect();
      } catch (error) {
        this.hooks.effectFailed(error);
      }
    }
    return outcomes;
  }
}

function asStoreError(error: unknown): SluiceError {
  if (error instanceof SluiceError) return error;
  return new SluiceError('store-error', error instanceof Error ? error.message : String(error));
}
