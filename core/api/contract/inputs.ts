/** Input and output parts several operations share (not part of the public contract module). */
import { z } from 'zod';
import { epochMs } from './primitives.ts';
import { deadMessageFilterSchema, deliveryIdSchema, idSchema, queueNameSchema } from './wire.ts';
import { queueConfigSchema, topicFilterSchema } from '../../schema/queue-config.ts';

/**
 * Subscriptions, re-declared with the coded filter check: queue-config.ts's own check reports
 * a plain custom issue, which would answer invalid-input instead of invalid-topic-filter.
 * (Drop this once queue-config.ts attaches `params: { code }` to its issue.)
 */
export const subscriptionsSchema = z.array(topicFilterSchema).max(1000);

/**
 * Queue config changes: every field optional and without defaults, so an update touches only
 * what it names (zod's `.partial()` would fill in the defaults and reset the rest).
 */
export const queueConfigPatchShape = Object.fromEntries(
  Object.entries(queueConfigSchema.shape).map(([key, field]) => [key, field.removeDefault().optional()]),
) as {
  [K in keyof typeof queueConfigSchema.shape]: z.ZodOptional<
    ReturnType<(typeof queueConfigSchema.shape)[K]['removeDefault']>
  >;
};

/** Which dead messages an operation applies to: exactly one of ids, a non-empty filter, or all. */
export const deadMessageSelectionSchema = z
  .strictObject({
    ids: z.array(idSchema).min(1).max(10_000).optional(),
    filter: deadMessageFilterSchema.optional(),
    all: z.literal(true).optional(),
  })
  .superRefine((selection, ctx) => {
    const given = (['ids', 'filter', 'all'] as const).filter((key) => selection[key] !== undefined);
    if (given.length !== 1)
      ctx.addIssue({ code: 'custom', message: 'give exactly one of ids, filter or all: true', path: [] });
    else if (selection.filter && Object.values(selection.filter).every((value) => value === undefined))
      // Guard against "purge everything" by accident: an empty filter must be said as all: true.
      ctx.addIssue({ code: 'custom', message: 'an empty filter selects everything; say all: true', path: ['filter'] });
  });

export const page = {
  limit: z.number().int().min(1).max(1000).default(100),
};

export const byName = z.strictObject({ name: queueNameSchema });
export const byId = z.strictObject({ id: idSchema });

/** What a publisher gets back once the message is durable. */
export const publishReceiptSchema = z.object({
  id: idSchema,
  timestamp: epochMs,
  /** Queues it was enqueued to (or dead-lettered from, on overflow). */
  queues: z.array(z.string()),
});

export const settleInput = z.strictObject({ name: queueNameSchema, deliveryId: deliveryIdSchema });
export const settleOutput = z.object({
  name: z.string(),
  deliveryId: z.string(),
  outcome: z.enum(['ack', 'reject', 'release']),
});
