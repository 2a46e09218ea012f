import type { Message } from './message.ts';
import type { QueueRuntime } from './queue.ts';

/** One message handed to a consumer. Settle it with the consumer's methods. */
export interface Delivery {
  readonly queue: string;
  /** Identifies this delivery within its queue; use it to settle. */
  readonly deliveryId: number;
  readonly message: Message;
  /** Attempts so far, this one included (1 on first delivery). */
  readonly deliveryCount: number;
  /** Put in the queue by a replay. */
  readonly replayed: boolean;
}

/** How a consumer was settled: DESIGN.md's queue entry transitions. */
export type Settlement = 'ack' | 'release' | 'fail' | 'reject';

/** How a consumer receives work. */
export interface ConsumerOptions {
  /** Shown in stats and kept on dead messages ("mqtt:plc-7", "amqp:mes/orders"). */
  readonly label?: string;
  /**
   * prefetch: at most `prefetch` unsettled deliveries, credit comes back on each settlement
   * (MQTT receive maximum, HTTP pull). credit: only `addCredit` grants more (AMQP link credit).
   */
  readonly flow?: { readonly mode: 'prefetch'; readonly prefetch: number } | { readonly mode: 'credit' };
  /** Called after a commit with each message for this consumer. */
  readonly onDelivery: (delivery: Delivery) => void;
  /** Called if the broker detaches the consumer (queue deleted, broker closing). */
  readonly onClosed?: (reason: string) => void;
}

/** What a consumer needs from the engine (implemented by Engine). */
export interface ConsumerHost {
  settle(consumer: Consumer, deliveryId: number, outcome: Settlement, error?: string): Promise<void>;
  detach(consumer: Consumer, failInFlight: boolean): Promise<void>;
  creditAdded(consumer: Consumer): void;
}

let consumerSeq = 0;

/** A consumer attached to a queue. */
export class Consumer {
  readonly id = `c${++consumerSeq}`;
  readonly label: string;
  readonly prefetchMode: boolean;
  /** Deliveries it may still receive. */
  credit: number;
  /** Unsettled deliveries it holds. */
  inFlight = 0;
  closed = false;

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: QueueRuntime,
    private readonly options: ConsumerOptions,
  ) {
    const flow = options.flow ?? { mode: 'prefetch', prefetch: 100 };
    this.prefetchMode = flow.mode === 'prefetch';
    this.credit = flow.mode === 'prefetch' ? flow.prefetch : 0;
    this.label = options.label ?? this.id;
  }

  ack(deliveryId: number): Promise<void> {
    return this.host.settle(this, deliveryId, 'ack');
  }
  /** Gives it back unprocessed: redelivered, the attempt not counted. */
  release(deliveryId: number): Promise<void> {
    return this.host.settle(this, deliveryId, 'release');
  }
  /** The attempt failed: redelivered until max redelivery, then dead-lettered. */
  fail(deliveryId: number, error?: string): Promise<void> {
    return this.host.settle(this, deliveryId, 'fail', error);
  }
  /** Rejects it: dead-lettered with the reason given (or discarded if not DMQ-eligible). */
  reject(deliveryId: number, error?: string): Promise<void> {
    return this.host.settle(this, deliveryId, 'reject', error);
  }
  /** Grants more deliveries (credit mode; in prefetch mode it widens the window). */
  addCredit(n: number): void {
    if (this.closed || n <= 0) return;
    this.credit += n;
    this.host.creditAdded(this);
  }
  /** Sets credit to exactly n (AMQP flow frames state absolute credit). */
  setCredit(n: number): void {
    if (this.closed) return;
    this.credit = Math.max(0, n);
    if (n > 0) this.host.creditAdded(this);
  }
  /**
   * Detaches. By default unsettled deliveries count as failed attempts (a consumer that
   * vanishes mid-message is how poison messages reach max redelivery).
   */
  close(options: { failInFlight?: boolean } = {}): Promise<void> {
    return this.host.detach(this, options.failInFlight ?? true);
  }

  /** @internal engine → consumer */
  deliver(delivery: Delivery): void {
    this.options.onDelivery(delivery);
  }
  /** @internal engine → consumer */
  closedByBroker(reason: string): void {
    this.closed = true;
    this.options.onClosed?.(reason);
  }
}
