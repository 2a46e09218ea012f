/**
 * The queue entry state machine as one visible transition table (STYLE.md §5).
 * `transition` is pure: it returns what must happen (effects); queue.ts performs them.
 *
 *   ready ──deliver──► in-flight ──ack──────────────► (removed)
 *     │ (deliveries used up, after a restart mid-delivery) ──► dead (max-redelivery)
 *     ▲                   │ ──release (not counted)──► ready
 *     │                   │ ──fail (counted)─────────► ready | dead (max-redelivery)
 *     │                   │ ──reject─────────────────► dead (rejected)
 *   ready ──expire──► dead (ttl-expired)      ready ──drop-oldest──► discarded
 *
 * "dead" means: to the DMQ when the message is DMQ-eligible, otherwise discarded and counted.
 */

/** Where an entry is in its life. */
export type EntryState = 'ready' | 'in-flight';

/** Why a message left its queue without being acknowledged. */
export type DeadReason = 'max-redelivery' | 'ttl-expired' | 'overflow' | 'rejected';

/** Everything that can happen to a queue entry. */
export type QueueEvent =
  /** Handed to a consumer; the delivery attempt is counted now (persisted before sending). */
  | { readonly type: 'deliver' }
  /** Consumer processed it. */
  | { readonly type: 'ack' }
  /** Consumer gives it back unprocessed (AMQP `released`): the attempt is not counted. */
  | { readonly type: 'release' }
  /** The delivery failed (AMQP `modified{delivery-failed}`, consumer vanished, visibility timeout). */
  | { readonly type: 'fail' }
  /** Consumer explicitly rejects it (AMQP `rejected`, MQTT 5 PUBACK >= 0x80, HTTP reject). */
  | { readonly type: 'reject' }
  /** Its time to live ran out while it waited. */
  | { readonly type: 'expire' }
  /** The queue overflowed and its policy evicts this entry. */
  | { readonly type: 'evict' };

/** What the state machine needs to know about an entry. */
export interface EntryFacts {
  readonly state: EntryState;
  /** Delivery attempts so far, including one in flight. */
  readonly deliveryCount: number;
  readonly dmqEligible: boolean;
}

/** The queue's limits that steer transitions. */
export interface TransitionLimits {
  /** Redeliveries allowed after the first delivery; exceeding it dead-letters the entry. */
  readonly maxRedelivery: number;
}

/** What must happen as the result of one event. */
export type Effect =
  | { readonly kind: 'mark-in-flight'; readonly deliveryCount: number }
  | { readonly kind: 'make-ready'; readonly deliveryCount: number }
  | { readonly kind: 'remove' }
  | { readonly kind: 'dead-letter'; readonly reason: DeadReason }
  | { readonly kind: 'discard'; readonly reason: DeadReason }
  | { readonly kind: 'illegal'; readonly detail: string };

function deadOrDiscard(entry: EntryFacts, reason: DeadReason): Effect {
  return entry.dmqEligible ? { kind: 'dead-letter', reason } : { kind: 'discard', reason };
}

function illegal(entry: EntryFacts, event: QueueEvent): Effect {
  return { kind: 'illegal', detail: `cannot ${event.type} an entry that is ${entry.state}` };
}

export function transition(entry: EntryFacts, event: QueueEvent, limits: TransitionLimits): Effect {
  switch (event.type) {
    case 'deliver':
      if (entry.state !== 'ready') return illegal(entry, event);
      // A restart mid-delivery returns an entry to ready with its count kept: one that already had
      // every allowed delivery is dead-lettered, so no message is delivered more than maxRedelivery + 1 times.
      return entry.deliveryCount > limits.maxRedelivery
        ? deadOrDiscard(entry, 'max-redelivery')
        : { kind: 'mark-in-flight', deliveryCount: entry.deliveryCount + 1 };
    case 'ack':
      return entry.state === 'in-flight' ? { kind: 'remove' } : illegal(entry, event);
    case 'release':
      // AMQP 1.0 §3.4.4: released means "not processed"; the attempt does not count.
      return entry.state === 'in-flight'
        ? { kind: 'make-ready', deliveryCount: Math.max(0, entry.deliveryCount - 1) }
        : illegal(entry, event);
    case 'fail':
      if (entry.state !== 'in-flight') return illegal(entry, event);
      return entry.deliveryCount > limits.maxRedelivery
        ? deadOrDiscard(entry, 'max-redelivery')
        : { kind: 'make-ready', deliveryCount: entry.deliveryCount };
    case 'reject':
      return entry.state === 'in-flight' ? deadOrDiscard(entry, 'rejected') : illegal(entry, event);
    case 'expire':
      return entry.state === 'ready' ? deadOrDiscard(entry, 'ttl-expired') : illegal(entry, event);
    case 'evict':
      // drop-oldest discards by definition, whatever the message's DMQ eligibility.
      return entry.state === 'ready' ? { kind: 'discard', reason: 'overflow' } : illegal(entry, event);
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}
