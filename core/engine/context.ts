/**
 * What the engine shares with the modules that work on its state (DMQ, replay, retention,
 * expiry). Its own file so that those modules depend on this interface, not on engine.ts, which
 * depends on them: no import circle.
 */
import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.ts';
import type { StoredMessage } from '../store/store.ts';
import type { Flush, GroupCommit } from './group-commit.ts';
import type { JourneyRecorder } from './journey.ts';
import type { QueueRuntime, ReadyEntry } from './queue.ts';

/** The replayable log's bounds and size, kept in memory and in the meta table. */
export interface LogState {
  /** First replayable id; retention advances it. */
  startId: number;
  /** Accept time of the newest pruned message, or null if nothing was ever pruned. */
  prunedThroughTs: number | null;
  /** Newest accept time: timestamps never go backwards along the log. */
  lastTimestamp: number;
  /** Bytes of the replayable log. */
  bytes: number;
}

/** Everything a commit changed, used by the modules that share the engine's state. */
export interface EngineContext {
  readonly store: SqliteStore;
  readonly commit: GroupCommit;
  readonly log: LogState;
  readonly logger: Logger;
  /** Records each message's steps in the commit that makes them (docs/journey.md). */
  readonly journey: JourneyRecorder;
  queueByName(name: string): QueueRuntime | undefined;
  queueById(id: number): QueueRuntime | undefined;
  /**
   * Inserts a new ready entry for `message` into `queue`; `priorDeliveries` carries the
   * deliveries of its earlier lives (a dead message sent back keeps its history). Returns the entry id.
   */
  enqueue(
    flush: Flush,
    queue: QueueRuntime,
    message: StoredMessage,
    options: { replayed: boolean; priorDeliveries?: number },
  ): number;
  /** Replay's bulk path: copies a range of the log into `queue` in SQL; see SqliteStore.copyLogToQueue. */
  copyLog(
    flush: Flush,
    queue: QueueRuntime,
    range: { fromId: number; toId: number; limit: number; filter: string | null; replayId?: number },
  ): { copied: number; lastId: number; scanned: number };
  /** Records that `queue`'s counters or depth changed in this commit. */
  changed(queue: QueueRuntime): void;
  /** Asks dispatch to look at `queue` in this or the next commit. */
  wake(queue: QueueRuntime): void;
  /** Applies a terminal event to a ready entry: expiry or eviction (to the DMQ, or discarded). */
  removeEntry(
    flush: Flush,
    queue: QueueRuntime,
    entry: ReadyEntry,
    event: { type: 'expire' } | { type: 'evict' },
    details: { consumer?: string; error?: string },
  ): void;
}
