import { z } from 'zod';

// Pure schema module: no Node APIs, so the API contract (and the renderer) can import it.

/**
 * What can happen to a message, in the words of a journey (docs/journey.md). Stored steps have a
 * fixed code (core/engine/journey.ts); `published` and `routed` are read from the log and the
 * queue entries, not stored.
 */
export const journeyStepKinds = [
  /** Accepted and appended to the log (time, publisher, protocol from the log row). */
  'published',
  /** Enqueued to a queue by routing at publish time. */
  'routed',
  /** Handed to a consumer (in flight). */
  'delivered',
  /** Acknowledged: removed from the queue. */
  'acked',
  /** Given back unprocessed: ready again, the attempt not counted. */
  'released',
  /** The attempt failed (or the consumer went away): ready again, or dead-lettered at max redelivery. */
  'failed',
  /** Rejected by the consumer, with its error text when it gave one. */
  'rejected',
  /** Its time to live ran out while it waited in the queue. */
  'expired',
  /** Pushed out of a full queue by a newer message (overflow drop-oldest). */
  'evicted',
  /** Put in a dead message queue, with the reason. */
  'dead-lettered',
  /** Dropped instead of dead-lettered: not DMQ-eligible. */
  'discarded',
  /** Sent back from the DMQ to its original queue. */
  'redelivered',
  /** A replay put a marked copy in a queue. */
  'replayed',
  /** Removed by a queue purge while ready. */
  'purged',
  /** Its queue was deleted while it waited there. */
  'queue-deleted',
  /** In flight when the broker stopped: ready again on restart, delivery count kept. */
  'returned',
  /** Its dead copy was purged from the DMQ. */
  'dead-purged',
] as const;

/** One kind of journey step. */
export type JourneyStepKind = (typeof journeyStepKinds)[number];

export const journeyStepKindSchema = z.enum(journeyStepKinds);
