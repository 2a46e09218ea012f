/**
 * The contract's wire schemas for messages, queues, dead messages, replays, stats and live events
 * (core/api/contract.ts explains the conventions). Browser-safe.
 */
import { z } from 'zod';
import { SluiceError } from '../../errors.ts';
import { count, epochMs } from './primitives.ts';
import { checkedString, queueConfigSchema, queueNamePattern, topicFilterSchema } from '../../schema/queue-config.ts';
import { replaySpecSchema } from '../../schema/replay-spec.ts';
import { assertTopicName } from '../../schema/topic.ts';

// ── building blocks ──────────────────────────────────────────────────────────────────

/** A topic a message is published to: `/`-separated levels, no wildcards. */
export const topicNameSchema = checkedString(assertTopicName).meta({
  description: 'Topic name: `/`-separated levels, no wildcards',
});
export { topicFilterSchema };
/** A queue name (same rule the engine enforces, checked here so every transport answers alike). */
export const queueNameSchema = checkedString((name) => {
  if (!queueNamePattern.test(name))
    throw new SluiceError(
      'invalid-queue-name',
      `"${name}" is not a valid queue name: 1–255 printable characters, without spaces, '+', '#', '*' or '?'`,
    );
}).meta({ description: "Queue name: 1–255 printable characters, no spaces, '+', '#', '*' or '?'" });
/** A log, entry, dead-message or replay id: a positive decimal number as a string. */
export const idSchema = z.string().regex(/^[1-9]\d{0,15}$/, 'an id is a positive decimal number, as a string');

/** How a payload string is encoded on the wire. */
export const payloadEncodingSchema = z.enum(['utf8', 'base64']);
/** Why a message was dead-lettered (DESIGN.md: dead message). */
export const deadReasonSchema = z.enum(['max-redelivery', 'ttl-expired', 'overflow', 'rejected']);

/** A message as the API shows it. */
export const messageSchema = z.object({
  id: idSchema,
  timestamp: epochMs,
  topic: z.string(),
  payload: z.string(),
  payloadEncoding: payloadEncodingSchema,
  contentType: z.string().optional(),
  headers: z.record(z.string(), z.string()),
  correlationId: z.string().optional(),
  replyTo: z.string().optional(),
  priority: z.number().int().min(0).max(9),
  publisher: z.string().optional(),
  protocol: z.string().optional(),
  expiresAt: epochMs.nullable(),
  dmqEligible: z.boolean(),
});

/** Messages per second over the last sampling interval. */
export const ratesSchema = z.object({ inPerSec: z.number(), outPerSec: z.number(), deadPerSec: z.number() });

/** Lifetime counters of a queue. */
export const queueCountersSchema = z.object({
  enqueued: count,
  delivered: count,
  acked: count,
  deadLettered: count,
  discarded: count,
  expired: count,
});

/** A queue's configuration and live state. */
export const queueInfoSchema = z.object({
  name: z.string(),
  config: queueConfigSchema,
  depth: count,
  bytes: count,
  inFlight: count,
  consumers: count,
  counters: queueCountersSchema,
  rates: ratesSchema,
  createdAt: epochMs,
});

/** A dead message: the original message plus why, where from, how often and when. */
export const deadMessageSchema = z.object({
  id: idSchema,
  dmq: z.string(),
  queue: z.string(),
  reason: deadReasonSchema,
  /** Deliveries in the queue life that ended here (what max redelivery counts). */
  deliveryCount: count,
  /** Deliveries across DMQ round trips: earlier lives (before redeliveries from the DMQ) plus the last. */
  totalDeliveryCount: count,
  firstDeliveredAt: epochMs.nullable(),
  lastDeliveredAt: epochMs.nullable(),
  deadAt: epochMs,
  consumer: z.string().nullable(),
  error: z.string().nullable(),
  message: messageSchema,
});

/** Selects dead messages; every field optional and ANDed. */
export const deadMessageFilterSchema = z.strictObject({
  dmq: z.string().min(1).optional(),
  queue: z.string().min(1).optional(),
  reason: deadReasonSchema.optional(),
  topic: topicFilterSchema.optional(),
  deadFrom: epochMs.optional().meta({ description: 'Dead at or after (ms since epoch)' }),
  deadUntil: epochMs.optional().meta({ description: 'Dead at or before (ms since epoch)' }),
});

/** A replay's progress. */
export const replayStatusSchema = z.object({
  id: idSchema,
  spec: replaySpecSchema,
  state: z.enum(['running', 'completed', 'cancelled', 'failed']),
  startId: z.string(),
  endId: z.string(),
  /** Log messages looked at so far, of `inRange`. */
  scanned: count,
  /** Copies put into the target queue so far, of `total`. */
  replayed: count,
  /** Messages to replay: those in range that match the topic filter (all in range without one). */
  total: count,
  /** Log messages in the range, matching or not. */
  inRange: count,
  waiting: z.boolean(),
  createdAt: epochMs,
  finishedAt: epochMs.nullable(),
  error: z.string().nullable(),
});

/** RFC 9457 problem details, as every HTTP error answers. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  /** A code from core/errors.ts, or a transport code such as `route-not-found`. */
  code: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** Broker counters, rates, storage and per-queue state (stats.get, and the `stats` event). */
export const statsSchema = z.object({
  startedAt: epochMs,
  uptimeMs: count,
  broker: z.object({
    published: count,
    publishRefused: count,
    delivered: count,
    commits: count,
    commitMsAverage: z.number().nonnegative(),
  }),
  rates: ratesSchema,
  storage: z.object({
    databaseBytes: count,
    logBytes: count,
    logStartId: idSchema,
    /** Accept time of the oldest replayable message, null when the log is empty. */
    logStartTime: epochMs.nullable(),
  }),
  queues: z.array(queueInfoSchema.omit({ config: true, createdAt: true })),
  dead: z.object({
    total: count,
    byQueue: z.array(z.object({ dmq: z.string(), queue: z.string(), count })),
  }),
});

/** A message to publish (messages.publish's JSON body; topics.publish builds it from a raw HTTP request). */
export const publishInputSchema = z
  .strictObject({
    topic: topicNameSchema,
    payload: z.string().default(''),
    payloadEncoding: payloadEncodingSchema.default('utf8'),
    contentType: z.string().min(1).max(255).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    correlationId: z.string().optional(),
    replyTo: z.string().optional(),
    priority: z.number().int().min(0).max(9).optional(),
    ttlMs: z.number().int().positive().optional(),
    dmqEligible: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.payloadEncoding === 'base64' && !isBase64(input.payload))
      ctx.addIssue({ code: 'custom', message: 'not valid base64', path: ['payload'] });
  });

/** A pull receiver's handle on one delivery attempt: the entry id and a random tag. */
export const deliveryIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,15}-[0-9a-f]{12}$/, 'a delivery id is what messages:receive answered, e.g. 42-0a1b2c3d4e5f')
  .meta({ description: 'Delivery id from messages:receive' });

// ── live events ──────────────────────────────────────────────────────────────────────

/** Largest payload preview a live event or the topic tree carries. */
export const payloadPreviewMaxBytes = 4096;

/** The first bytes of a payload, encoded like a message payload; `truncated` when there was more. */
const payloadPreviewShape = {
  payload: z.string(),
  payloadEncoding: payloadEncodingSchema,
  /** True when `payload` holds only the first bytes of a longer payload. */
  truncated: z.boolean(),
};

/** A message seen live on a topic (not durable, not consumed: a tap on the flow). */
export const messageEventSchema = z.object({
  type: z.literal('message'),
  id: idSchema,
  topic: z.string(),
  timestamp: epochMs,
  /** Payload size in bytes (the whole payload, not the preview). */
  size: count,
  contentType: z.string().optional(),
  headers: z.record(z.string(), z.string()),
  protocol: z.string().optional(),
  publisher: z.string().optional(),
  ...payloadPreviewShape,
});

/** Broker stats, once per rate-sampling interval (1 s), to subscribers that asked for them. */
export const statsEventSchema = z.object({ type: z.literal('stats'), stats: statsSchema });

/** Events were dropped because this subscriber read too slowly (its buffer was full). */
export const droppedEventSchema = z.object({
  type: z.literal('dropped'),
  /** Dropped since the previous `dropped` event. */
  dropped: count,
  /** Dropped since this subscription started. */
  totalDropped: count,
});

/** One topic in the live topic tree. */
export const topicNodeSchema = z.object({
  topic: z.string(),
  /** Messages seen on this topic since the broker started. */
  messages: count,
  /** Messages per second over the last sampling interval. */
  ratePerSec: z.number().nonnegative(),
  lastTimestamp: epochMs,
  lastMessage: z.object({
    id: idSchema,
    /** Payload size in bytes. */
    size: count,
    contentType: z.string().optional(),
    protocol: z.string().optional(),
    ...payloadPreviewShape,
  }),
});

/**
 * Coalesced topic tree updates (DESIGN.md: UI): a few frames a second, each with the latest state
 * of every topic that changed since the previous frame (new messages or a new rate), whatever the
 * message rate. Counts are totals, so a frame replaces what the client had for those topics.
 */
export const topicsEventSchema = z.object({
  type: z.literal('topics'),
  topics: z.array(topicNodeSchema),
  /** Topics tracked in all. */
  tracked: count,
  /** Messages on topics not tracked because the cap was reached. */
  untrackedMessages: count,
});

/** One live event: a union discriminated by `type`. */
export const brokerEventSchema = z.discriminatedUnion('type', [
  messageEventSchema,
  topicsEventSchema,
  statsEventSchema,
  droppedEventSchema,
]);

/** DESIGN.md permissions (the same list as core/security/authorize.ts's `actions`; service.ts checks they agree). */
export const actionSchema = z.enum(['publish', 'subscribe', 'consume', 'browse', 'replay', 'manage']);
/** One permission. */
export type WireAction = z.infer<typeof actionSchema>;

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}
