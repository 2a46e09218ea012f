/**
 * Queue management: create, change, delete, purge, browse and describe queues. Free functions
 * over the engine's registries (Engine's methods of the same names call them); nothing here runs
 * per message.
 */
import { SluiceError } from '../errors.ts';
import { StoredEntryState } from '../store/store.ts';
import type { EngineInternals } from './context.ts';
import { stepCode } from './journey.ts';
import type { Flush } from './group-commit.ts';
import { toMessage, type Message } from './message.ts';
import {
  QueueRuntime,
  assertQueueName,
  emptyCounters,
  parseQueueConfig,
  type QueueConfig,
  type QueueConfigInput,
  type QueueCounters,
} from './queue.ts';

/** A queue's state for APIs and the UI. */
export interface QueueInfo {
  readonly name: string;
  readonly config: QueueConfig;
  readonly depth: number;
  readonly bytes: number;
  readonly inFlight: number;
  readonly consumers: number;
  readonly counters: Readonly<QueueCounters>;
  readonly createdAt: number;
}

/** A message sitting in a queue, for browsing. */
export interface QueuedMessage {
  readonly entryId: number;
  readonly state: 'ready' | 'in-flight';
  /** Deliveries in this queue since it was (re)enqueued. */
  readonly deliveryCount: number;
  /** Deliveries across DMQ round trips: earlier lives plus this one. */
  readonly totalDeliveryCount: number;
  readonly expiresAt: number | null;
  readonly replayed: boolean;
  readonly message: Message;
}

/** Creates a queue; refused if one of that name exists. */
export async function createQueue(
  engine: EngineInternals,
  name: string,
  configInput: QueueConfigInput = {},
): Promise<QueueInfo> {
  assertQueueName(name);
  const config = parseQueueConfig(configInput);
  return engine.commit.submit((flush) => {
    if (engine.queuesByName.has(name)) throw new SluiceError('queue-exists', `Queue "${name}" already exists`);
    return queueInfo(engine, insertQueue(engine, flush, name, config));
  });
}

/** Inserts and registers a new queue inside `flush`; unregistered again if the commit fails. */
export function insertQueue(engine: EngineInternals, flush: Flush, name: string, config: QueueConfig): QueueRuntime {
  const id = engine.store.insertQueue(flush.tx, name, JSON.stringify(config), flush.now);
  const queue = new QueueRuntime(id, name, config, { count: 0, bytes: 0, maxId: 0 }, emptyCounters());
  engine.register(queue, flush.now);
  flush.undo(() => engine.unregister(queue));
  return queue;
}

/** Creates the queue if missing; leaves an existing one as it is. */
export async function ensureQueue(
  engine: EngineInternals,
  name: string,
  configInput: QueueConfigInput = {},
): Promise<QueueInfo> {
  const existing = engine.queuesByName.get(name);
  if (existing) return queueInfo(engine, existing);
  try {
    return await createQueue(engine, name, configInput);
  } catch (error) {
    const raced = engine.queuesByName.get(name);
    if (error instanceof SluiceError && error.code === 'queue-exists' && raced) return queueInfo(engine, raced);
    throw error;
  }
}

/** Changes a queue's config; its subscriptions are rebound and dispatch looks at it again. */
export async function updateQueue(
  engine: EngineInternals,
  name: string,
  changes: QueueConfigInput,
): Promise<QueueInfo> {
  const queue = engine.requireQueue(name);
  const config = parseQueueConfig({ ...queue.config, ...changes });
  return engine.commit.submit((flush) => {
    engine.store.updateQueueConfig(flush.tx, queue.id, JSON.stringify(config));
    const previous = queue.config;
    engine.router.unbindQueue(queue);
    queue.config = config;
    engine.router.bindQueue(queue);
    flush.undo(() => {
      engine.router.unbindQueue(queue);
      queue.config = previous;
      engine.router.bindQueue(queue);
    });
    engine.wake(queue);
    return queueInfo(engine, queue);
  });
}

/** Deletes a queue and its entries. With consumers attached it needs `force`, which detaches them. */
export async function deleteQueue(
  engine: EngineInternals,
  name: string,
  options: { force?: boolean } = {},
): Promise<void> {
  const queue = engine.requireQueue(name);
  const attached = engine.consumers.get(queue) ?? [];
  if (attached.length > 0 && !options.force)
    throw new SluiceError('queue-in-use', `Queue "${name}" has ${attached.length} consumer(s); use force to delete it`);
  await engine.commit.submit((flush) => {
    if (engine.queuesByName.get(name) !== queue)
      throw new SluiceError('queue-not-found', `Queue "${name}" does not exist`);
    engine.journey.bulk(flush.now, (atUs) =>
      engine.journey.store.recordQueueEntries(flush.tx, {
        queueId: queue.id,
        atUs,
        kind: stepCode['queue-deleted'],
        readyOnly: false,
        detail: JSON.stringify({ queue: name }),
      }),
    );
    engine.store.deleteQueue(flush.tx, queue.id);
    const createdAt = engine.createdAt.get(queue.id) ?? flush.now;
    const consumers = engine.consumers.get(queue) ?? [];
    engine.unregister(queue);
    flush.undo(() => {
      engine.register(queue, createdAt);
      engine.consumers.set(queue, consumers);
    });
    flush.after(() => {
      for (const consumer of consumers) consumer.closedByBroker(`queue "${name}" was deleted`);
    });
  });
}

/** Removes every ready entry; in-flight ones stay with their consumers. Returns how many went. */
export async function purgeQueue(engine: EngineInternals, name: string): Promise<number> {
  const queue = engine.requireQueue(name);
  return engine.commit.submit((flush) => {
    engine.journey.bulk(flush.now, (atUs) =>
      engine.journey.store.recordQueueEntries(flush.tx, {
        queueId: queue.id,
        atUs,
        kind: stepCode.purged,
        readyOnly: true,
        detail: null,
      }),
    );
    const { count } = engine.store.purgeReady(flush.tx, queue.id);
    queue.reload(engine.store.queueTotalsOf(queue.id));
    engine.changed(queue);
    return count;
  });
}

/** Every queue, by name. */
export function listQueues(engine: EngineInternals): QueueInfo[] {
  return [...engine.queuesByName.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((q) => queueInfo(engine, q));
}

/** Messages in a queue in delivery order, without consuming them. */
export function browseQueue(
  engine: EngineInternals,
  name: string,
  options: { afterEntryId?: number; limit?: number } = {},
): QueuedMessage[] {
  const queue = engine.requireQueue(name);
  return engine.store
    .browseEntries(queue.id, options.afterEntryId ?? 0, Math.min(options.limit ?? 100, 1000))
    .map((row) => ({
      entryId: row.id,
      state: queue.inFlight.has(row.id) || row.state === StoredEntryState.InFlight ? 'in-flight' : 'ready',
      deliveryCount: row.deliveryCount,
      totalDeliveryCount: row.priorDeliveries + row.deliveryCount,
      expiresAt: row.expiresAt,
      replayed: row.replayed,
      message: toMessage(row.message, row.replayed),
    }));
}

/** A queue's state for APIs and the UI. */
export function queueInfo(engine: EngineInternals, queue: QueueRuntime): QueueInfo {
  return {
    name: queue.name,
    config: queue.config,
    depth: queue.depth,
    bytes: queue.bytes,
    inFlight: queue.inFlight.size,
    consumers: engine.consumers.get(queue)?.length ?? 0,
    counters: { ...queue.counters },
    createdAt: engine.createdAt.get(queue.id) ?? 0,
  };
}
