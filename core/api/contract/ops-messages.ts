/** Operations that publish, receive and settle messages, and the live views of the flow. */
import { z } from 'zod';
import { count, epochMs } from './primitives.ts';
import {
  brokerEventSchema,
  messageSchema,
  payloadPreviewMaxBytes,
  publishInputSchema,
  queueNameSchema,
  statsSchema,
  topicNodeSchema,
} from './wire.ts';
import { api, everything, operation, type Operation } from './operation.ts';
import { publishReceiptSchema, settleInput, settleOutput } from './inputs.ts';
import { topicFilterSchema } from '../../schema/queue-config.ts';

export const messageOperations = {
  'messages.publish': operation({
    summary: 'Publish a message to a topic (e.g. a test message)',
    input: publishInputSchema,
    output: publishReceiptSchema,
    errors: ['invalid-topic', 'payload-too-large', 'queue-full', 'store-full'],
    http: { method: 'POST', path: `${api}/messages`, status: 201 },
    permission: { kind: 'acl', action: 'publish', resources: (input) => [input.topic] },
  }),
  'topics.publish': operation({
    summary:
      'Publish the request body to the topic in the path (Content-Type, Sluice-* headers); 201 after the durable commit',
    input: publishInputSchema,
    output: publishReceiptSchema,
    errors: ['invalid-topic', 'payload-too-large', 'queue-full', 'store-full'],
    http: { method: 'POST', path: `${api}/topics/:topic*`, status: 201, body: 'raw' },
    permission: { kind: 'acl', action: 'publish', resources: (input) => [input.topic] },
  }),
  'topics.stream': operation({
    summary: 'Live message events on the topic filter in the path (server-sent events; `#` as %23)',
    input: z.strictObject({
      filter: topicFilterSchema,
      previewBytes: z.number().int().min(0).max(payloadPreviewMaxBytes).default(payloadPreviewMaxBytes),
    }),
    output: brokerEventSchema,
    errors: ['invalid-topic-filter'],
    http: { method: 'GET', path: `${api}/topics/:filter*/stream` },
    permission: { kind: 'acl', action: 'subscribe', resources: (input) => [input.filter] },
    response: 'events',
  }),
  'queues.receive': operation({
    summary:
      'Take up to max messages from a queue, each hidden from others until acked, rejected, released or its visibility timeout fails it',
    input: z.strictObject({
      name: queueNameSchema,
      max: z.number().int().min(1).max(1000).default(1),
      visibilityTimeoutMs: z
        .number()
        .int()
        .min(100)
        .max(12 * 60 * 60 * 1000)
        .default(30_000)
        .meta({ description: 'Unsettled this long, a delivery counts as failed and is redelivered' }),
      waitMs: z
        .number()
        .int()
        .min(0)
        .max(30_000)
        .default(0)
        .meta({ description: 'Long poll: wait this long for a message when the queue is empty' }),
    }),
    output: z.object({
      messages: z.array(
        z.object({
          deliveryId: z.string(),
          deliveryCount: count,
          replayed: z.boolean(),
          visibleUntil: epochMs,
          message: messageSchema,
        }),
      ),
    }),
    errors: ['queue-not-found', 'invalid-queue-name', 'queue-exclusive'],
    http: { method: 'POST', path: `${api}/queues/:name/messages:receive` },
    permission: { kind: 'acl', action: 'consume', resources: (input) => [input.name] },
  }),
  'queues.ack': operation({
    summary: 'Acknowledge a received message: it is removed from the queue',
    input: settleInput,
    output: settleOutput,
    errors: ['queue-not-found', 'invalid-queue-name', 'unknown-delivery'],
    http: { method: 'POST', path: `${api}/queues/:name/messages/:deliveryId:ack` },
    permission: { kind: 'acl', action: 'consume', resources: (input) => [input.name] },
  }),
  'queues.reject': operation({
    summary: 'Reject a received message: it goes to the dead message queue with the error given',
    input: settleInput.extend({ error: z.string().max(4096).optional() }).strict(),
    output: settleOutput,
    errors: ['queue-not-found', 'invalid-queue-name', 'unknown-delivery'],
    http: { method: 'POST', path: `${api}/queues/:name/messages/:deliveryId:reject` },
    permission: { kind: 'acl', action: 'consume', resources: (input) => [input.name] },
  }),
  'queues.release': operation({
    summary: 'Give a received message back unprocessed: redelivered, the attempt not counted',
    input: settleInput,
    output: settleOutput,
    errors: ['queue-not-found', 'invalid-queue-name', 'unknown-delivery'],
    http: { method: 'POST', path: `${api}/queues/:name/messages/:deliveryId:release` },
    permission: { kind: 'acl', action: 'consume', resources: (input) => [input.name] },
  }),
  'stats.get': operation({
    summary: 'Broker counters, rates, storage and per-queue state',
    input: z.strictObject({}),
    output: statsSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/stats` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'events.stream': operation({
    summary:
      'Live events: messages on topic filters (payload preview ≤ 4 KiB), coalesced topic tree frames and broker stats once a second; HTTP answers text/event-stream',
    input: z.strictObject({
      topics: z
        .array(topicFilterSchema)
        .max(100)
        .optional()
        .meta({ description: 'Topic filters to watch (repeat the query parameter); none: no message events' }),
      tree: topicFilterSchema.optional().meta({
        description:
          'Coalesced topic tree updates for topics matching this filter: a topics event a few times a second with each changed topic, never one event per message',
      }),
      stats: z.boolean().default(false).meta({ description: 'Also send a stats event once a second' }),
      previewBytes: z.number().int().min(0).max(payloadPreviewMaxBytes).default(payloadPreviewMaxBytes).meta({
        description: 'Payload bytes each message event, and each topic of a topics frame, carries (at most 4096)',
      }),
    }),
    output: brokerEventSchema,
    errors: ['invalid-topic-filter'],
    http: { method: 'GET', path: `${api}/events` },
    permission: {
      kind: 'acl',
      action: 'subscribe',
      resources: (input) => [
        ...(input.topics ?? []),
        ...(input.tree !== undefined ? [input.tree] : []),
        ...(input.stats ? ['#'] : []),
      ],
    },
    response: 'events',
  }),
  'topics.tree': operation({
    summary: 'Snapshot of the live topic tree: every topic seen since start with count, rate and last message',
    input: z.strictObject({
      filter: topicFilterSchema.default('#').meta({ description: 'Only topics matching this filter' }),
      limit: z.number().int().min(1).max(100_000).default(10_000),
    }),
    output: z.object({
      /** Sorted by topic. */
      topics: z.array(topicNodeSchema),
      /** Topics matching the filter (may exceed the returned ones when limited). */
      matched: count,
      /** Topics tracked in all. */
      tracked: count,
      /** The tracking cap: topics first seen after it is reached are not tracked. */
      maxTracked: count,
      /** Messages on topics not tracked because the cap was reached. */
      untrackedMessages: count,
    }),
    errors: ['invalid-topic-filter'],
    http: { method: 'GET', path: `${api}/topics:tree` },
    permission: { kind: 'acl', action: 'subscribe', resources: (input) => [input.filter] },
  }),
} as const satisfies Record<string, Operation>;
