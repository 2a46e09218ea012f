import { z } from 'zod';
import { SluiceError } from '../errors.ts';
import { assertTopicFilter } from './topic.ts';

// Pure schema module: no Node APIs, so the API contract (and the renderer) can import it.

/** Default DMQ every queue dead-letters into unless configured otherwise. */
export const defaultDeadMessageQueue = '#DMQ';

/** Queue names: printable, no wildcards, no whitespace; `/` allowed (e.g. `mqtt/<clientId>`). */
export const queueNamePattern = /^[^\s+#*?\p{Cc}]{1,255}$/u;

/** Refuses a name that is not a valid queue name, with the rule in the message. */
export function assertQueueName(name: string): void {
  if (!queueNamePattern.test(name))
    throw new SluiceError(
      'invalid-queue-name',
      `"${name}" is not a valid queue name: 1–255 printable characters, without spaces, '+', '#', '*' or '?'`,
    );
}

/**
 * A string schema that runs a SluiceError-throwing check; the issue keeps the catalog code, so
 * transports can answer e.g. invalid-topic-filter rather than invalid-input.
 */
export function checkedString(assert: (value: string) => void) {
  return z.string().superRefine((value, ctx) => {
    try {
      assert(value);
    } catch (error) {
      if (!(error instanceof SluiceError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.detail, params: { code: error.code } });
    }
  });
}

/** A subscription filter with MQTT wildcards `+` and `#`. */
export const topicFilterSchema = checkedString(assertTopicFilter).meta({
  description: 'Topic filter with MQTT wildcards `+` (one level) and `#` (the rest)',
});
const topicFilter = topicFilterSchema;

/** A queue's configuration: what it collects and how it behaves when stressed. */
export const queueConfigSchema = z.object({
  /** Topic filters (MQTT wildcards); a message matching any is enqueued once. */
  subscriptions: z
    .array(topicFilter)
    .max(1000)
    .default([])
    .meta({ description: 'Topic filters (MQTT wildcards + and #); a message matching any is enqueued once' }),
  /** Depth limit in messages (ready + in flight). */
  maxDepthMessages: z
    .number()
    .int()
    .positive()
    .default(1_000_000)
    .meta({ description: 'Depth limit in messages, ready and in flight' }),
  /** Depth limit in bytes of the messages it holds. */
  maxDepthBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024)
    .meta({ description: 'Depth limit in bytes of the messages held' }),
  /** What a full queue does with one more message. */
  overflow: z
    .enum(['reject-publisher', 'drop-oldest', 'dead-letter'])
    .default('reject-publisher')
    .meta({ description: 'What a full queue does with one more message' }),
  /** Redeliveries allowed after the first delivery before the entry is dead-lettered. */
  maxRedelivery: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(10)
    .meta({ description: 'Redeliveries allowed after the first delivery before the message is dead-lettered' }),
  /** TTL applied to messages that carry none; null for none. */
  defaultTtlMs: z
    .number()
    .int()
    .positive()
    .nullable()
    .default(null)
    .meta({ description: 'Time to live (ms) for messages that carry none; null for none' }),
  /** Where its dead messages go. */
  deadMessageQueue: z
    .string()
    .min(1)
    .max(255)
    .default(defaultDeadMessageQueue)
    .meta({ description: 'The dead message queue its dead messages go to' }),
  /** exclusive: one active consumer at a time, the others stand by; non-exclusive: round robin. */
  accessType: z
    .enum(['exclusive', 'non-exclusive'])
    .default('non-exclusive')
    .meta({ description: 'exclusive: one active consumer, others stand by; non-exclusive: round robin' }),
});

/** A queue's configuration, every field filled in. */
export type QueueConfig = Readonly<z.infer<typeof queueConfigSchema>>;
/** What a caller may give when creating or updating a queue. */
export type QueueConfigInput = z.input<typeof queueConfigSchema>;

/**
 * Engine queue settings a protocol's own queues may override (MQTT sessions, AMQP durable
 * subscriptions…): every limit and policy, without defaults; subscriptions and access type
 * stay the protocol's.
 */
export const queueSettingsSchema = z
  .object({
    maxDepthMessages: z.number().int().positive(),
    maxDepthBytes: z.number().int().positive(),
    overflow: z.enum(['reject-publisher', 'drop-oldest', 'dead-letter']),
    maxRedelivery: z.number().int().min(0).max(1_000_000),
    defaultTtlMs: z.number().int().positive().nullable(),
    deadMessageQueue: z.string().min(1).max(255),
  })
  .partial();
