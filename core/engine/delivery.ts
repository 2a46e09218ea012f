/**
 * Delivery: dispatch hands ready entries to consumers inside each commit, settlement (ack,
 * release, fail, reject) ends them or returns them, and the terminal events of a ready entry
 * (expiry, eviction) send it to the DMQ or discard it. Free functions over the engine's state,
 * called where its private methods were: no extra step per message.
 */
import { SluiceError } from '../errors.ts';
import type { Consumer, Settlement } from './consumer.ts';
import { deadLetter } from './dmq.ts';
import type { EngineInternals } from './context.ts';
import { transition, type DeadReason } from './entry-state.ts';
import type { Flush } from './group-commit.ts';
import { toMessage } from './message.ts';
import type { InFlightEntry, QueueRuntime, ReadyEntry } from './queue.ts';

/** Settles one in-flight delivery inside `flush`: the state machine decides (entry-state.ts). */
export function settleInFlush(
  engine: EngineInternals,
  flush: Flush,
  consumer: Consumer,
  deliveryId: number,
  outcome: Settlement,
  error?: string,
): void {
  const queue = consumer.queue;
  const entry = queue.inFlight.get(deliveryId);
  if (!entry || entry.consumerId !== consumer.id || engine.queuesById.get(queue.id) !== queue)
    throw new SluiceError(
      'unknown-delivery',
      `Delivery ${deliveryId} is not in flight to this consumer on "${queue.name}"`,
    );
  const effect = transition(
    { state: 'in-flight', deliveryCount: entry.deliveryCount, dmqEligible: entry.message.dmqEligible },
    { type: outcome },
    queue.config,
  );
  queue.inFlight.delete(deliveryId);
  consumer.inFlight--;
  // No consumer stored: a settlement comes from the consumer the delivery step names (checked above).
  engine.journey.record(
    flush,
    settledStep[outcome],
    entry.message.id,
    queue,
    entry.id,
    null,
    error === undefined ? null : { error },
  );
  const creditBack = consumer.prefetchMode && !consumer.closed ? 1 : 0;
  consumer.credit += creditBack;
  flush.undo(() => {
    queue.inFlight.set(deliveryId, entry);
    consumer.inFlight++;
    consumer.credit -= creditBack;
  });
  switch (effect.kind) {
    case 'remove':
      engine.store.deleteEntry(flush.tx, queue.id, entry.id);
      queue.removed(entry.size);
      queue.counters.acked++;
      releaseLogReference(engine, flush, entry.message.id);
      break;
    case 'make-ready':
      engine.store.makeReady(flush.tx, queue.id, entry.id, effect.deliveryCount);
      queue.returnReady(readyEntry(entry, effect.deliveryCount));
      break;
    case 'dead-letter':
    case 'discard':
      engine.store.deleteEntry(flush.tx, queue.id, entry.id);
      queue.removed(entry.size);
      applyDeath(engine, flush, queue, entry, effect, {
        consumer: consumer.label,
        ...(error !== undefined && { error }),
      });
      break;
    case 'mark-in-flight':
    case 'illegal':
      throw new SluiceError('unknown-delivery', `Cannot ${outcome} delivery ${deliveryId}: ${JSON.stringify(effect)}`);
  }
  engine.changed(queue);
  engine.dirtyQueues.add(queue);
}

/** Hands ready entries of `queue` to its consumers with credit, inside the commit that records it. */
export function dispatch(engine: EngineInternals, flush: Flush, queue: QueueRuntime): void {
  for (;;) {
    // Entry first: choosing a consumer advances the round robin, so only choose one for real work.
    const entry = queue.peekReady(engine.store);
    if (!entry) return;
    const consumer = nextConsumer(engine, queue);
    if (!consumer) return;
    queue.shiftReady();
    engine.changed(queue);
    if (entry.expiresAt !== null && entry.expiresAt <= flush.now) {
      removeEntry(engine, flush, queue, entry, { type: 'expire' }, {});
      continue;
    }
    const effect = transition(
      { state: 'ready', deliveryCount: entry.deliveryCount, dmqEligible: entry.message.dmqEligible },
      { type: 'deliver' },
      queue.config,
    );
    if (effect.kind === 'dead-letter' || effect.kind === 'discard') {
      engine.store.deleteEntry(flush.tx, queue.id, entry.id);
      queue.removed(entry.size);
      applyDeath(engine, flush, queue, entry, effect, {
        error: 'its last allowed delivery was interrupted by a broker restart',
      });
      continue;
    }
    if (effect.kind !== 'mark-in-flight') throw new Error(`dispatch: unexpected ${effect.kind}`);
    engine.store.markInFlight(flush.tx, queue.id, entry.id, effect.deliveryCount, flush.now);
    engine.journey.record(flush, 'delivered', entry.message.id, queue, entry.id, consumer.label);
    // Field by field, not a spread: see storedMessage() (publish.ts).
    const held: InFlightEntry = {
      id: entry.id,
      message: entry.message,
      deliveryCount: effect.deliveryCount,
      firstDeliveredAt: entry.firstDeliveredAt ?? flush.now,
      lastDeliveredAt: flush.now,
      priorDeliveries: entry.priorDeliveries,
      expiresAt: entry.expiresAt,
      size: entry.size,
      replayed: entry.replayed,
      consumerId: consumer.id,
    };
    queue.inFlight.set(entry.id, held);
    consumer.inFlight++;
    consumer.credit--;
    queue.counters.delivered++;
    flush.undo(() => {
      queue.inFlight.delete(entry.id);
      consumer.inFlight--;
      consumer.credit++;
    });
    const delivery = {
      queue: queue.name,
      deliveryId: entry.id,
      message: toMessage(entry.message, entry.replayed),
      deliveryCount: effect.deliveryCount,
      replayed: entry.replayed,
    };
    flush.after(() => {
      engine.counters.delivered++;
      consumer.deliver(delivery);
    });
  }
}

/** The consumer next in line with credit: an exclusive queue's first, else round robin. */
function nextConsumer(engine: EngineInternals, queue: QueueRuntime): Consumer | undefined {
  const list = engine.consumers.get(queue);
  if (!list || list.length === 0) return undefined;
  if (queue.config.accessType === 'exclusive') {
    const active = list[0]!;
    return active.credit > 0 ? active : undefined;
  }
  const start = engine.roundRobin.get(queue) ?? 0;
  for (let i = 0; i < list.length; i++) {
    const index = (start + i) % list.length;
    const candidate = list[index]!;
    if (candidate.credit > 0) {
      engine.roundRobin.set(queue, index + 1);
      return candidate;
    }
  }
  return undefined;
}

/** Applies a terminal event to a ready entry: expiry or eviction. */
export function removeEntry(
  engine: EngineInternals,
  flush: Flush,
  queue: QueueRuntime,
  entry: ReadyEntry,
  event: { type: 'expire' } | { type: 'evict' },
  details: { consumer?: string; error?: string },
): void {
  const effect = transition(
    { state: 'ready', deliveryCount: entry.deliveryCount, dmqEligible: entry.message.dmqEligible },
    event,
    queue.config,
  );
  engine.store.deleteEntry(flush.tx, queue.id, entry.id);
  queue.removed(entry.size);
  if (event.type === 'expire') queue.counters.expired++;
  engine.journey.record(flush, event.type === 'expire' ? 'expired' : 'evicted', entry.message.id, queue, entry.id);
  applyDeath(engine, flush, queue, entry, effect, details);
}

/** An entry's end: to the DMQ or discarded, per the transition's effect. */
export function applyDeath(
  engine: EngineInternals,
  flush: Flush,
  queue: QueueRuntime,
  entry: ReadyEntry,
  effect: ReturnType<typeof transition>,
  details: { consumer?: string; error?: string },
): void {
  if (effect.kind === 'dead-letter' || effect.kind === 'discard') {
    const reason: DeadReason = effect.reason;
    if (effect.kind === 'dead-letter') deadLetter(engine, flush, queue, entry, reason, details);
    else {
      queue.counters.discarded++;
      engine.changed(queue);
      engine.journey.record(flush, 'discarded', entry.message.id, queue, entry.id, null, { reason });
    }
    releaseLogReference(engine, flush, entry.message.id);
  }
  engine.changed(queue);
}

/** A message older than the replayable log is deleted once no entry points at it. */
export function releaseLogReference(engine: EngineInternals, flush: Flush, messageId: number): void {
  if (messageId < engine.log.startId) {
    engine.store.deleteMessageIfUnreferenced(flush.tx, messageId);
    engine.journey.forget(messageId);
  }
}
/** The journey step a settlement records. */
const settledStep = { ack: 'acked', release: 'released', fail: 'failed', reject: 'rejected' } as const;

/** A held entry back in the ready state with its new delivery count. */
function readyEntry(entry: ReadyEntry, deliveryCount: number): ReadyEntry {
  return {
    id: entry.id,
    message: entry.message,
    deliveryCount,
    firstDeliveredAt: entry.firstDeliveredAt,
    lastDeliveredAt: entry.lastDeliveredAt,
    priorDeliveries: entry.priorDeliveries,
    expiresAt: entry.expiresAt,
    size: entry.size,
    replayed: entry.replayed,
  };
}
