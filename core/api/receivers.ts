/**
 * Pull receivers: how a client without a connection (HTTP, the CLI) consumes a queue —
 * `receive` hands out up to `max` messages, each under a visibility timeout, and the client
 * settles each with `ack`, `reject` or `release` by its delivery id. See docs/http.md.
 *
 * Each receive is a short lease on an engine consumer in prefetch mode (prefetch = max):
 * attach → collect what the engine dispatches → detach without failing what it holds → answer.
 * The deliveries stay in flight in the engine (their count is durable) and are settled later
 * through the lease's consumer. Nothing is lost or stuck:
 * - a receiver that vanishes: the visibility timeout `fail`s the delivery, so it is redelivered
 *   with its count (and dead-lettered after max redelivery) — DESIGN.md's "consumer vanished";
 * - a delivery dispatched in the same commit the lease ended is released at once (not counted);
 * - a broker restart makes every in-flight entry ready again with its count (engine recovery);
 * - a delivery id names one attempt (entry id + a random tag), so a stale id from before a
 *   timeout can never settle the redelivered attempt someone else holds.
 */
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../errors.ts';
import type { Consumer, Delivery } from '../engine/consumer.ts';
import type { Engine } from '../engine/engine.ts';

/** One message handed to a pull receiver. */
export interface ReceivedDelivery {
  readonly deliveryId: string;
  readonly delivery: Delivery;
  /** When the visibility timeout fails it (ms since epoch). */
  readonly visibleUntil: number;
}

/** How to settle a held delivery. */
export type PullSettlement = 'ack' | 'reject' | 'release';

interface Held {
  readonly consumer: Consumer;
  readonly entryId: number;
  readonly timer: NodeJS.Timeout;
}

/** Every delivery held by pull receivers, keyed by queue and delivery id. */
export class PullReceivers {
  private readonly held = new Map<string, Map<string, Held>>();
  private closed = false;

  constructor(
    private readonly engine: Engine,
    private readonly onError: (error: unknown, what: string) => void,
  ) {}

  /** Deliveries held now (for stats and tests). */
  get holding(): number {
    let total = 0;
    for (const byId of this.held.values()) total += byId.size;
    return total;
  }

  /**
   * Takes up to `max` messages from `queue`: waits up to `waitMs` for the first one (long poll),
   * then answers with what the same dispatch brought.
   */
  async receive(
    queue: string,
    options: { max: number; visibilityTimeoutMs: number; waitMs: number; label: string },
  ): Promise<ReceivedDelivery[]> {
    if (this.closed) throw new SluiceError('broker-closing', 'The broker is shutting down');
    const info = this.engine.getQueue(queue); // queue-not-found before attaching anything
    const received: ReceivedDelivery[] = [];
    let leaseOpen = true;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const consumer: Consumer = this.engine.consume(queue, {
      label: options.label,
      flow: { mode: 'prefetch', prefetch: options.max },
      onDelivery: (delivery) => {
        if (!leaseOpen) {
          // Dispatched in the commit that ended the lease: give it back, the attempt not counted.
          consumer.release(delivery.deliveryId).catch((error) => this.onError(error, 'late delivery release'));
          return;
        }
        received.push(this.hold(consumer, delivery, options.visibilityTimeoutMs));
        // The rest of this dispatch arrives synchronously after this one; answer right after it.
        if (received.length >= options.max) finish();
        else setImmediate(finish);
      },
      onClosed: () => finish(),
    });
    // Nothing ready: answer now unless asked to wait. Something ready: wait for its dispatch
    // (the next commit), bounded in case another consumer takes it first.
    const ready = info.depth - info.inFlight;
    const waitMs = ready > 0 ? Math.max(options.waitMs, 1000) : options.waitMs;
    const timer = setTimeout(finish, waitMs);
    await done;
    clearTimeout(timer);
    leaseOpen = false;
    await consumer.close({ failInFlight: false }); // what it holds stays in flight, settled by id
    return received;
  }

  /** Settles a held delivery; unknown-delivery if its id is not held (settled, timed out, or never issued). */
  async settle(queue: string, deliveryId: string, outcome: PullSettlement, error?: string): Promise<void> {
    const byId = this.held.get(queue);
    const held = byId?.get(deliveryId);
    if (!held)
      throw new SluiceError(
        'unknown-delivery',
        `Delivery ${deliveryId} is not held on "${queue}": already settled, its visibility timeout expired, or never issued`,
      );
    this.forget(queue, deliveryId, held);
    const { consumer, entryId } = held;
    if (outcome === 'ack') await consumer.ack(entryId);
    else if (outcome === 'release') await consumer.release(entryId);
    else await consumer.reject(entryId, error);
  }

  /** Stops the timers; held deliveries stay in flight on disk and become ready on the next start. */
  close(): void {
    this.closed = true;
    for (const byId of this.held.values()) for (const held of byId.values()) clearTimeout(held.timer);
    this.held.clear();
  }

  private hold(consumer: Consumer, delivery: Delivery, visibilityTimeoutMs: number): ReceivedDelivery {
    const deliveryId = `${delivery.deliveryId}-${randomBytes(6).toString('hex')}`;
    const queue = delivery.queue;
    const timer = setTimeout(() => {
      const held = this.held.get(queue)?.get(deliveryId);
      if (!held) return;
      this.forget(queue, deliveryId, held);
      // DESIGN.md: a consumer that vanishes mid-message is a failed attempt (count kept).
      consumer
        .fail(delivery.deliveryId, `visibility timeout of ${visibilityTimeoutMs} ms expired`)
        .catch((error) => this.onError(error, 'visibility timeout'));
    }, visibilityTimeoutMs);
    timer.unref();
    let byId = this.held.get(queue);
    if (!byId) this.held.set(queue, (byId = new Map()));
    byId.set(deliveryId, { consumer, entryId: delivery.deliveryId, timer });
    return { deliveryId, delivery, visibleUntil: Date.now() + visibilityTimeoutMs };
  }

  private forget(queue: string, deliveryId: string, held: Held): void {
    clearTimeout(held.timer);
    const byId = this.held.get(queue)!;
    byId.delete(deliveryId);
    if (byId.size === 0) this.held.delete(queue);
  }
}
