/** The message journey (docs/journey.md): every step one message took after it was published. */
import { z } from 'zod';
import { count, epochMs } from './primitives.ts';
import { idSchema } from './wire.ts';
import { api, everything, operation, type Operation } from './operation.ts';
import { byId } from './inputs.ts';
import { journeyStepKindSchema } from '../../schema/journey.ts';

/** One step of a journey. Fields that do not apply to its kind are null. */
export const journeyStepSchema = z.object({
  kind: journeyStepKindSchema,
  /** When, ms since the epoch. */
  at: epochMs,
  queue: z.string().nullable(),
  /** The queue entry the step concerns (its delivery id). */
  entryId: idSchema.nullable(),
  /** Who published it (the published step). */
  publisher: z.string().nullable(),
  /** The consumer's label, e.g. `mqtt:plc-7` or `amqp:container/link` (deliveries and their outcomes). */
  consumer: z.string().nullable(),
  /** The door: the publisher's protocol, or the consumer's. */
  protocol: z.string().nullable(),
  /** For a delivery: which attempt of this entry it was (1 first). */
  attempt: count.nullable(),
  /** A rejection's or failure's error text. */
  error: z.string().nullable(),
  /** Why it was dead-lettered or discarded. */
  reason: z.string().nullable(),
  dmq: z.string().nullable(),
  /** The dead message (dmq.get) a dead-letter made, or a redelivery came from. */
  deadMessageId: idSchema.nullable(),
  /** The replay (replay.get) that made a copy. */
  replayId: idSchema.nullable(),
});

/** A message's journey: the message, its steps in order, where it is now. */
export const journeySchema = z.object({
  message: z.object({
    id: idSchema,
    topic: z.string(),
    timestamp: epochMs,
    /** Bytes it counts for: payload, topic and properties. */
    size: count,
    publisher: z.string().nullable(),
    protocol: z.string().nullable(),
    /** False when only a dead copy is left: retention pruned the log row. */
    inLog: z.boolean(),
  }),
  steps: z.array(journeyStepSchema),
  now: z.object({
    entries: z.array(
      z.object({
        queue: z.string(),
        entryId: idSchema,
        state: z.enum(['ready', 'in-flight']),
        deliveryCount: count,
        replayed: z.boolean(),
      }),
    ),
    dead: z.array(z.object({ id: idSchema, dmq: z.string(), queue: z.string(), reason: z.string() })),
  }),
  /** Whether this broker records journeys (config `journey`); off, only the publish and the queues it is in now show. */
  recording: z.boolean(),
});

export const journeyOperations = {
  'messages.journey': operation({
    summary:
      'Trace one message: published (when, by whom, over which protocol), routed, each delivery and outcome, DMQ, redelivery and replay copies',
    input: byId,
    output: journeySchema,
    errors: ['message-not-found'],
    http: { method: 'GET', path: `${api}/messages/:id/journey` },
    // Like dmq.get: a journey names topics, queues and consumers across the broker.
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
} as const satisfies Record<string, Operation>;
