import type { Logger } from 'pino';
import { SluiceError } from '../errors.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { MessageDraft, StoredMessage } from '../store/store.ts';
import { Consumer, type ConsumerHost, type ConsumerOptions, type Settlement } from './consumer.ts';
import { DeadMessages } from './dmq.ts';
import { ExpirySweeper } from './expiry.ts';
import { StrandedEntries } from './stranded.ts';
import { GroupCommit, type Done, type Flush } from './group-commit.ts';
import { JourneyRecorder, readJourney, stepCode, type MessageJourney } from './journey.ts';
import type { PublishInput, PublishReceipt } from './message.ts';
import { dispatch, removeEntry, settleInFlush } from './delivery.ts';
import { appendAndEnqueue, copyLog, enqueue, validatePublish } from './publish.ts';
import {
  browseQueue,
  createQueue,
  deleteQueue,
  ensureQueue,
  insertQueue,
  listQueues,
  purgeQueue,
  queueInfo,
  updateQueue,
  type QueueInfo,
  type QueuedMessage,
} from './queue-management.ts';
import {
  QueueRuntime,
  emptyCounters,
  parseQueueConfig,
  type QueueConfig,
  type QueueConfigInput,
  type QueueCounters,
  type ReadyEntry,
} from './queue.ts';
import type { EngineCounters, EngineInternals, LastProps, LogState } from './context.ts';
import { ReplayManager } from './replay.ts';
import { Retention, type RetentionLimits } from './retention.ts';
import { Router, type LiveListener } from './router.ts';
import { assertTopicFilter, topicMatches } from '../schema/topic.ts';

export type { QueueInfo, QueuedMessage } from './queue-management.ts';
export { queueOfTopic, queueTopicPrefix } from './publish.ts';

/** How the engine is set up; config.ts fills these from the one config schema. */
export interface EngineOptions {
  /** SQLite database file. */
  readonly databaseFile: string;
  /** Largest message accepted, payload + topic + properties. */
  readonly maxMessageBytes: number;
  readonly retention: RetentionLimits;
  /** How often ready entries are checked for expired TTLs. */
  readonly expiryIntervalMs: number;
  /** Test hook: cap the database size in pages to simulate a full disk. */
  readonly maxPageCount?: number;
  /** Record each message's journey (docs/journey.md); default true. */
  readonly journey?: boolean;
  readonly logger: Logger;
}

export type { EngineCounters } from './context.ts';

/** Upper bounds (ms) of the commit latency histogram buckets (Prometheus `le`). */
export const commitMsBucketBounds: readonly number[] = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/**
 * The broker engine: routing, queues, consumers, DMQ, replay, retention and expiry over one
 * SQLite store, with every state change made durable by a group commit before anyone sees it.
 */
export class Engine implements ConsumerHost, EngineInternals {
  readonly commit: GroupCommit;
  readonly log: LogState;
  readonly counters: EngineCounters = { published: 0, publishRefused: 0, delivered: 0, commits: 0, commitMsTotal: 0 };
  readonly deadMessages: DeadMessages;
  readonly replays: ReplayManager;
  /** Each message's steps after publish (docs/journey.md), written in the commits that make them. */
  readonly journey: JourneyRecorder;
  readonly logger: Logger;
  /** Commits per latency bucket (`commitMsBucketBounds`), not cumulative; slower ones are only in `counters.commits`. */
  readonly commitMsBuckets: number[] = commitMsBucketBounds.map(() => 0);

  // EngineInternals (context.ts): the engine's own modules (publish.ts, delivery.ts,
  // queue-management.ts) work on these as its private methods did; not for use outside core/engine.
  readonly router = new Router();
  readonly queuesByName = new Map<string, QueueRuntime>();
  readonly queuesById = new Map<number, QueueRuntime>();
  readonly createdAt = new Map<number, number>();
  readonly consumers = new Map<QueueRuntime, Consumer[]>();
  readonly roundRobin = new Map<QueueRuntime, number>();
  /** Queues dispatch looks at in the next commit. */
  readonly dirtyQueues = new Set<QueueRuntime>();
  /** Set by close(): publishes and new consumers are refused from then on. */
  closing = false;
  /** The last simple publish's properties (publish.ts, messageProps). */
  lastProps: LastProps | undefined;

  /** Queues whose counters the next commit persists. */
  private readonly changedQueues = new Set<QueueRuntime>();
  /**
   * Queues whose memory state changed since the last successful commit: reloaded from the store
   * if the commit fails. Not the same set as changedQueues, which beforeCommit empties before the
   * COMMIT itself can still fail (a full filesystem refuses the WAL write at COMMIT).
   */
  private readonly touchedQueues = new Set<QueueRuntime>();
  private readonly retention: Retention;
  private readonly expiry: ExpirySweeper;
  private readonly stranded: StrandedEntries;
  /** Set while a failed commit's retry waits (see afterRollback). */
  private retryTimer: NodeJS.Timeout | undefined;
  /** The log's newest accept time when the current transaction began (afterRollback puts it back). */
  private lastTimestampBefore = 0;

  private constructor(
    readonly store: SqliteStore,
    readonly options: EngineOptions,
  ) {
    this.logger = options.logger;
    this.commit = new GroupCommit(store, {
      begin: () => (this.lastTimestampBefore = this.log.lastTimestamp),
      beforeCommit: (flush) => this.beforeCommit(flush),
      afterRollback: (error) => this.afterRollback(error),
      committed: (ms) => {
        this.touchedQueues.clear();
        this.counters.commits++;
        this.counters.commitMsTotal += ms;
        // Histogram for /metrics: one bucket per commit, non-cumulative; above the last bound → none.
        const bucket = commitMsBucketBounds.findIndex((bound) => ms <= bound);
        if (bucket >= 0) this.commitMsBuckets[bucket]!++;
      },
      effectFailed: (error) => this.logger.error({ err: error }, 'after-commit effect failed'),
      publishRefused: () => this.counters.publishRefused++,
    });
    this.log = { startId: 1, prunedThroughTs: null, lastTimestamp: 0, bytes: 0 };
    this.journey = new JourneyRecorder(store, options.journey ?? true);
    this.deadMessages = new DeadMessages(this);
    this.replays = new ReplayManager(this);
    this.retention = new Retention(this, options.retention);
    this.expiry = new ExpirySweeper(this, options.expiryIntervalMs);
    this.stranded = new StrandedEntries(this);
  }

  /** Opens the store, recovers state after a clean or unclean stop, and starts background jobs. */
  static async open(options: EngineOptions): Promise<Engine> {
    const store = SqliteStore.open({
      file: options.databaseFile,
      ...(options.maxPageCount !== undefined && { maxPageCount: options.maxPageCount }),
    });
    store.setTopicMatcher(topicMatches);
    const engine = new Engine(store, options);
    engine.recover();
    engine.retention.start();
    engine.expiry.start();
    await engine.replays.resume();
    return engine;
  }

  private recover(): void {
    const { store } = this;
    // DESIGN.md: on restart, in-flight entries become ready again with their delivery count kept
    // (on a full disk, once space returns: core/engine/stranded.ts), each with a journey step.
    const reset = this.stranded.recover((tx) =>
      this.journey.bulk(Date.now(), (atUs) => this.journey.store.recordInFlight(tx, { atUs, kind: stepCode.returned })),
    );
    const totals = store.queueTotals();
    for (const row of store.listQueues()) {
      const queue = new QueueRuntime(
        row.id,
        row.name,
        parseQueueConfig(JSON.parse(row.configJson)),
        withLastEntryId(totals.get(row.id), row.lastEntryId),
        { ...emptyCounters(), ...(JSON.parse(row.countersJson) as Partial<QueueCounters>) },
      );
      this.register(queue, row.createdAt);
    }
    this.log.startId = Number(store.getMeta('log_start_id') ?? '1');
    const pruned = store.getMeta('pruned_through_ts');
    this.log.prunedThroughTs = pruned === undefined ? null : Number(pruned);
    const { lastId } = store.logBounds();
    this.log.lastTimestamp = lastId > 0 ? (store.firstAtOrAfter(lastId)?.timestamp ?? 0) : 0;
    this.log.bytes = store.sumLogBytes(this.log.startId);
    this.logger.info(
      { queues: this.queuesByName.size, inFlightReset: reset, logStartId: this.log.startId },
      'engine recovered',
    );
  }

  /** Adds a queue to the registries and the router. */
  register(queue: QueueRuntime, createdAt: number): void {
    this.queuesByName.set(queue.name, queue);
    this.queuesById.set(queue.id, queue);
    this.createdAt.set(queue.id, createdAt);
    this.consumers.set(queue, []);
    this.router.bindQueue(queue);
  }

  /** Takes a queue out of the registries and the router. */
  unregister(queue: QueueRuntime): void {
    this.router.unbindQueue(queue);
    this.queuesByName.delete(queue.name);
    this.queuesById.delete(queue.id);
    this.createdAt.delete(queue.id);
    this.consumers.delete(queue);
    this.dirtyQueues.delete(queue);
    this.changedQueues.delete(queue);
    this.touchedQueues.delete(queue);
  }

  // ── context for dmq / replay / retention / expiry ───────────────────────────────────
  queueByName(name: string): QueueRuntime | undefined {
    return this.queuesByName.get(name);
  }
  queueById(id: number): QueueRuntime | undefined {
    return this.queuesById.get(id);
  }
  changed(queue: QueueRuntime): void {
    this.changedQueues.add(queue);
    this.touchedQueues.add(queue);
  }
  wake(queue: QueueRuntime): void {
    this.dirtyQueues.add(queue);
    this.commit.kick();
  }

  copyLog(
    flush: Flush,
    queue: QueueRuntime,
    range: { fromId: number; toId: number; limit: number; filter: string | null; replayId?: number },
  ): { copied: number; lastId: number; scanned: number } {
    return copyLog(this, flush, queue, range);
  }
  enqueue(
    flush: Flush,
    queue: QueueRuntime,
    message: StoredMessage,
    options: { replayed: boolean; priorDeliveries?: number },
  ): number {
    return enqueue(this, flush, queue, message, options);
  }
  /** Applies a terminal event to a ready entry: expiry or eviction. */
  removeEntry(
    flush: Flush,
    queue: QueueRuntime,
    entry: ReadyEntry,
    event: { type: 'expire' } | { type: 'evict' },
    details: { consumer?: string; error?: string },
  ): void {
    removeEntry(this, flush, queue, entry, event, details);
  }

  // ── publish (publish.ts) ────────────────────────────────────────────────────────────
  /**
   * authorize (adapter) → validate → appendToLog → enqueueMatches → commit → acknowledge.
   * Resolves only once the message and its queue entries are durable.
   */
  publish(input: PublishInput): Promise<PublishReceipt> {
    return new Promise((resolve, reject) => {
      this.publishThen(input, (error, receipt) => (error ? reject(error) : resolve(receipt!)));
    });
  }

  /**
   * `publish` answered through `done`, never before this call returns: the path of the MQTT
   * listener, which publishes per packet and answers aedes with a callback (no promise per message).
   */
  publishThen(input: PublishInput, done: Done<PublishReceipt>): void {
    let message: MessageDraft;
    try {
      message = validatePublish(this, input);
    } catch (error) {
      this.counters.publishRefused++;
      queueMicrotask(() => done(error as Error));
      return;
    }
    this.commit.enqueue(this.appendDraft, message, 'publish', done);
  }

  /** A publish's step in its commit, made once (not a closure per message). */
  private readonly appendDraft = (flush: Flush, draft: MessageDraft): PublishReceipt =>
    appendAndEnqueue(this, flush, draft);

  // ── live listeners ──────────────────────────────────────────────────────────────────
  /** Taps the live flow on a topic filter (not durable); returns the function that stops it. */
  listen(filter: string, listener: LiveListener): () => void {
    assertTopicFilter(filter);
    return this.router.listen(filter, listener);
  }

  // ── queues (queue-management.ts) ────────────────────────────────────────────────────
  createQueue(name: string, configInput: QueueConfigInput = {}): Promise<QueueInfo> {
    return createQueue(this, name, configInput);
  }

  /**
   * Inside a commit another operation runs (a replay's `target.create`): returns the queue,
   * creating it if missing, so it exists only if that operation commits.
   */
  ensureQueueIn(flush: Flush, name: string, config: QueueConfig): QueueRuntime {
    return this.queuesByName.get(name) ?? insertQueue(this, flush, name, config);
  }

  /** Creates the queue if missing; leaves an existing one as it is. */
  ensureQueue(name: string, configInput: QueueConfigInput = {}): Promise<QueueInfo> {
    return ensureQueue(this, name, configInput);
  }

  updateQueue(name: string, changes: QueueConfigInput): Promise<QueueInfo> {
    return updateQueue(this, name, changes);
  }

  /** Deletes a queue and its entries. With consumers attached it needs `force`, which detaches them. */
  deleteQueue(name: string, options: { force?: boolean } = {}): Promise<void> {
    return deleteQueue(this, name, options);
  }

  /** Removes every ready entry; in-flight ones stay with their consumers. Returns how many went. */
  purgeQueue(name: string): Promise<number> {
    return purgeQueue(this, name);
  }

  getQueue(name: string): QueueInfo {
    return queueInfo(this, this.requireQueue(name));
  }

  listQueues(): QueueInfo[] {
    return listQueues(this);
  }

  /** Messages in a queue in delivery order, without consuming them. */
  browseQueue(name: string, options: { afterEntryId?: number; limit?: number } = {}): QueuedMessage[] {
    return browseQueue(this, name, options);
  }

  requireQueue(name: string): QueueRuntime {
    const queue = this.queuesByName.get(name);
    if (!queue) throw new SluiceError('queue-not-found', `Queue "${name}" does not exist`, { queue: name });
    return queue;
  }

  // ── consumers (delivery.ts) ─────────────────────────────────────────────────────────
  /** Attaches a consumer to a queue. An exclusive queue's second consumer stands by. */
  consume(queueName: string, options: ConsumerOptions): Consumer {
    if (this.closing) throw new SluiceError('broker-closing', 'The broker is shutting down');
    const queue = this.requireQueue(queueName);
    const consumer = new Consumer(this, queue, options);
    this.consumers.get(queue)!.push(consumer);
    this.wake(queue);
    return consumer;
  }

  creditAdded(consumer: Consumer): void {
    this.wake(consumer.queue);
  }

  settle(consumer: Consumer, deliveryId: number, outcome: Settlement, error?: string): Promise<void> {
    return this.commit.submit((flush) => settleInFlush(this, flush, consumer, deliveryId, outcome, error));
  }

  async detach(consumer: Consumer, failInFlight: boolean): Promise<void> {
    if (consumer.closed && !this.consumers.get(consumer.queue)?.includes(consumer)) return;
    consumer.closed = true;
    const list = this.consumers.get(consumer.queue);
    if (list) list.splice(list.indexOf(consumer), 1);
    const held = [...consumer.queue.inFlight.values()].filter((e) => e.consumerId === consumer.id);
    if (held.length === 0 || !failInFlight || this.closing) return;
    await this.commit.submit((flush) => {
      for (const entry of held)
        if (consumer.queue.inFlight.get(entry.id) === entry)
          settleInFlush(this, flush, consumer, entry.id, 'fail', 'consumer detached before settling');
    });
  }

  // ── dispatch, inside each commit ────────────────────────────────────────────────────
  private beforeCommit(flush: Flush): void {
    for (const queue of this.dirtyQueues) dispatch(this, flush, queue);
    this.dirtyQueues.clear();
    for (const queue of this.changedQueues)
      this.store.updateQueueCounters(flush.tx, queue.id, JSON.stringify(queue.counters), queue.lastEntryId);
    this.changedQueues.clear();
    // Last: dispatch above records deliveries (DESIGN.md: durability contract, same transaction).
    this.journey.write(flush.tx);
  }

  private afterRollback(error: SluiceError): void {
    // Depth, bytes and ready buffers mirror the store: re-read them rather than trust memory.
    const stored = new Map(this.store.listQueues().map((row) => [row.id, row]));
    for (const queue of this.touchedQueues) {
      queue.reload(this.store.queueTotalsOf(queue.id));
      const row = stored.get(queue.id);
      if (row) queue.counters = { ...emptyCounters(), ...(JSON.parse(row.countersJson) as Partial<QueueCounters>) };
      this.dirtyQueues.add(queue);
    }
    this.touchedQueues.clear();
    this.changedQueues.clear();
    this.journey.discard();
    this.log.bytes = this.store.sumLogBytes(this.log.startId);
    this.log.lastTimestamp = this.lastTimestampBefore;
    // A full disk fails every commit until space returns: look again twice a second, not in a
    // tight loop of failing commits (publishes still get their store-full answer at once).
    if (error.code !== 'store-full') this.commit.kick();
    else if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.commit.kick();
      }, 500);
      this.retryTimer.unref();
    }
  }

  /** Every step of one message since it was published (docs/journey.md). */
  journeyOf(id: string): MessageJourney {
    return readJourney(this, id);
  }

  // ── stats and lifecycle ─────────────────────────────────────────────────────────────
  /** Database size and log bounds, for stats and the retention horizon in the UI. */
  storageInfo(): { databaseBytes: number; logStartId: number; logBytes: number; firstTimestamp: number | null } {
    const first = this.store.firstAtOrAfter(this.log.startId);
    return {
      databaseBytes: this.store.databaseBytes(),
      logStartId: this.log.startId,
      logBytes: this.log.bytes,
      firstTimestamp: first?.timestamp ?? null,
    };
  }

  /** Stops background work, commits what is pending, and closes the store. In-flight entries stay in flight on disk and return to ready on the next open. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.retention.stop();
    this.expiry.stop();
    this.stranded.stop();
    clearTimeout(this.retryTimer);
    await this.replays.stop();
    await this.commit.close();
    for (const list of this.consumers.values()) for (const consumer of list) consumer.closedByBroker('broker closing');
    this.store.close();
  }
}

/** Queue totals for recovery, with entry ids continuing after the highest ever assigned. */
function withLastEntryId(
  totals: { count: number; bytes: number; maxId: number } | undefined,
  lastEntryId: number,
): { count: number; bytes: number; maxId: number } {
  const t = totals ?? { count: 0, bytes: 0, maxId: 0 };
  return { ...t, maxId: Math.max(t.maxId, lastEntryId) };
}
