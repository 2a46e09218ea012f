/**
 * What the engine shares with the modules that work on its state (DMQ, replay, retention,
 * expiry). Its own file so that those modules depend on this interface, not on engine.ts, which
 * depends on them: no import circle.
 */
import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.ts';
import type { MessageProps, StoredMessage } from '../store/store.ts';
import type { Consumer } from './consumer.ts';
import type { Flush, GroupCommit } from './group-commit.ts';
import type { JourneyRecorder } from './journey.ts';
import type { QueueRuntime, ReadyEntry } from './queue.ts';
import type { Router } from './router.ts';

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

/** Broker-wide counters since start. */
export interface EngineCounters {
  published: number;
  publishRefused: number;
  delivered: number;
  commits: number;
  commitMsTotal: number;
}

/** The last simple publish's properties, reused while the next ones are equal (publish.ts, messageProps). */
export interface LastProps {
  readonly props: MessageProps;
  readonly propsJson: string;
  readonly propsBytes: number;
  readonly publisher: string | undefined;
  readonly protocol: string | undefined;
  readonly headerCount: number;
}

/**
 * The engine's state as its own modules see it (publish.ts, delivery.ts, queue-management.ts: the
 * publish path, dispatch and settlement, queue management): EngineContext plus the registries they
 * work on as the engine's private methods did. The Engine class implements it; those modules
 * depend on this interface, never on engine.ts.
 */
export interface EngineInternals extends EngineContext {
  readonly options: { readonly maxMessageBytes: number };
  readonly counters: EngineCounters;
  readonly router: Router;
  readonly queuesByName: Map<string, QueueRuntime>;
  readonly queuesById: Map<number, QueueRuntime>;
  /** Creation time of each queue, by id. */
  readonly createdAt: Map<number, number>;
  readonly consumers: Map<QueueRuntime, Consumer[]>;
  readonly roundRobin: Map<QueueRuntime, number>;
  /** Queues dispatch looks at in the next commit. */
  readonly dirtyQueues: Set<QueueRuntime>;
  /** Set by close(): publishes and new consumers are refused from then on. */
  readonly closing: boolean;
  lastProps: LastProps | undefined;
  /** Adds a queue to the registries (and the router). */
  register(queue: QueueRuntime, createdAt: number): void;
  /** Takes a queue out of the registries (and the router). */
  unregister(queue: QueueRuntime): void;
  /** The queue named `name`, or a queue-not-found error. */
  requireQueue(name: string): QueueRuntime;
}
