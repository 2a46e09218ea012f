/** Operations on queues, dead messages and replays. */
import { z } from 'zod';
import { count, epochMs } from './primitives.ts';
import {
  deadMessageFilterSchema,
  deadMessageSchema,
  deadReasonSchema,
  idSchema,
  messageSchema,
  queueInfoSchema,
  queueNameSchema,
  replayStatusSchema,
} from './wire.ts';
import { api, everything, operation, type Operation } from './operation.ts';
import {
  byId,
  byName,
  deadMessageSelectionSchema,
  page,
  queueConfigPatchShape,
  subscriptionsSchema,
} from './inputs.ts';
import { queueConfigSchema } from '../../schema/queue-config.ts';
import { replaySpecSchema } from '../../schema/replay-spec.ts';

export const queueOperations = {
  'queues.list': operation({
    summary: 'List queues with their depth, consumers, counters and rates',
    input: z.strictObject({}),
    output: z.object({ queues: z.array(queueInfoSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/queues` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'queues.get': operation({
    summary: 'Show one queue',
    input: byName,
    output: queueInfoSchema,
    errors: ['queue-not-found', 'invalid-queue-name'],
    http: { method: 'GET', path: `${api}/queues/:name` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.name] },
  }),
  'queues.create': operation({
    summary: 'Create a durable queue',
    input: queueConfigSchema.extend({ name: queueNameSchema, subscriptions: subscriptionsSchema.default([]) }).strict(),
    output: queueInfoSchema,
    errors: ['queue-exists', 'invalid-queue-name', 'invalid-topic-filter'],
    http: { method: 'POST', path: `${api}/queues`, status: 201 },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.name] },
  }),
  'queues.update': operation({
    summary: 'Change a queue’s configuration; fields not given keep their value',
    input: z.strictObject({
      name: queueNameSchema,
      ...queueConfigPatchShape,
      subscriptions: subscriptionsSchema.optional(),
    }),
    output: queueInfoSchema,
    errors: ['queue-not-found', 'invalid-queue-name', 'invalid-topic-filter'],
    http: { method: 'PATCH', path: `${api}/queues/:name` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.name] },
  }),
  'queues.delete': operation({
    summary: 'Delete a queue and its messages; with consumers attached it needs force',
    input: z.strictObject({ name: queueNameSchema, force: z.boolean().default(false) }),
    output: z.object({ name: z.string(), deleted: z.literal(true) }),
    errors: ['queue-not-found', 'queue-in-use', 'invalid-queue-name'],
    http: { method: 'DELETE', path: `${api}/queues/:name` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.name] },
  }),
  'queues.purge': operation({
    summary: 'Remove every ready message from a queue (in-flight ones stay with their consumers)',
    input: byName,
    output: z.object({ name: z.string(), purged: count }),
    errors: ['queue-not-found', 'invalid-queue-name'],
    http: { method: 'POST', path: `${api}/queues/:name/messages:purge` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.name] },
  }),
  'queues.browse': operation({
    summary: 'Look at the messages in a queue in delivery order without consuming them',
    input: z.strictObject({ name: queueNameSchema, afterEntryId: idSchema.optional(), ...page }),
    output: z.object({
      messages: z.array(
        z.object({
          entryId: idSchema,
          state: z.enum(['ready', 'in-flight']),
          deliveryCount: count,
          /** Deliveries across DMQ round trips (earlier lives plus this one). */
          totalDeliveryCount: count,
          expiresAt: epochMs.nullable(),
          replayed: z.boolean(),
          message: messageSchema,
        }),
      ),
      /** Pass as afterEntryId for the next page; null on the last page. */
      nextAfterEntryId: idSchema.nullable(),
    }),
    errors: ['queue-not-found', 'invalid-queue-name'],
    http: { method: 'GET', path: `${api}/queues/:name/messages` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.name] },
  }),
  'dmq.list': operation({
    summary: 'List dead messages in death order, filtered and paged',
    input: deadMessageFilterSchema.extend({ afterId: idSchema.optional(), ...page }).strict(),
    output: z.object({ deadMessages: z.array(deadMessageSchema), nextAfterId: idSchema.nullable() }),
    errors: ['invalid-topic-filter'],
    http: { method: 'GET', path: `${api}/dead-messages` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.queue ?? '#'] },
  }),
  'dmq.get': operation({
    summary: 'Inspect one dead message',
    input: byId,
    output: deadMessageSchema,
    errors: ['dead-message-not-found'],
    http: { method: 'GET', path: `${api}/dead-messages/:id` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'dmq.counts': operation({
    summary: 'Count dead messages per DMQ and original queue',
    input: z.strictObject({}),
    output: z.object({
      counts: z.array(z.object({ dmq: z.string(), queue: z.string(), count })),
      total: count,
      /** The same counts split by why the messages died. */
      byReason: z.array(z.object({ dmq: z.string(), queue: z.string(), reason: deadReasonSchema, count })),
    }),
    errors: [],
    http: { method: 'GET', path: `${api}/dead-messages:counts` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'dmq.redeliver': operation({
    summary: 'Send dead messages back to their original queue (by ids, a filter, or all)',
    input: deadMessageSelectionSchema,
    output: z.object({
      redelivered: count,
      failed: z.array(z.object({ id: idSchema, code: z.string(), detail: z.string() })),
    }),
    errors: ['invalid-topic-filter'],
    http: { method: 'POST', path: `${api}/dead-messages:redeliver` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.filter?.queue ?? '#'] },
  }),
  'dmq.purge': operation({
    summary: 'Delete dead messages for good (by ids, a filter, or all)',
    input: deadMessageSelectionSchema,
    output: z.object({ purged: count }),
    errors: ['invalid-topic-filter'],
    http: { method: 'POST', path: `${api}/dead-messages:purge` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.filter?.queue ?? '#'] },
  }),
  'dmq.export': operation({
    summary: 'Export dead messages as NDJSON, one per line, payloads in base64',
    input: deadMessageFilterSchema,
    output: deadMessageSchema,
    errors: ['invalid-topic-filter'],
    http: { method: 'GET', path: `${api}/dead-messages:export` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.queue ?? '#'] },
    response: 'ndjson',
  }),
  'replay.start': operation({
    summary: 'Replay messages from the log into a queue',
    input: replaySpecSchema,
    output: replayStatusSchema,
    errors: [
      'queue-not-found',
      'replay-before-retention',
      'message-not-found',
      'invalid-topic-filter',
      'invalid-queue-name',
    ],
    http: { method: 'POST', path: `${api}/replays`, status: 201 },
    permission: { kind: 'acl', action: 'replay', resources: (input) => [input.target.queue] },
  }),
  'replay.get': operation({
    summary: 'Show a replay’s progress',
    input: byId,
    output: replayStatusSchema,
    errors: ['replay-not-found'],
    http: { method: 'GET', path: `${api}/replays/:id` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'replay.list': operation({
    summary: 'List replays, newest first',
    input: z.strictObject({}),
    output: z.object({ replays: z.array(replayStatusSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/replays` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'replay.cancel': operation({
    summary: 'Stop a running replay; what it already enqueued stays',
    input: byId,
    output: replayStatusSchema,
    errors: ['replay-not-found'],
    http: { method: 'POST', path: `${api}/replays/:id:cancel` },
    permission: { kind: 'acl', action: 'replay', resources: everything },
  }),
} as const satisfies Record<string, Operation>;
