import { z } from 'zod';
import { queueConfigSchema } from './queue-config.ts';

// Pure schema module: no Node APIs, so the API contract (and the renderer) can import it.

const fromTimestamp = z.object({ kind: z.literal('timestamp'), at: z.number().int().nonnegative() });
const fromMessageId = z.object({
  kind: z.literal('message-id'),
  // Log ids start at 1: "0" names no message that ever existed, so it is bad input, not a pruned one.
  // Still any run of digits otherwise: a stored replay's spec is parsed again when it resumes.
  id: z.string().regex(/^(?!0+$)\d+$/, 'a message id is a positive decimal number (ids start at 1)'),
});
const position = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('beginning') }),
  fromTimestamp,
  fromMessageId,
]);

/** What to replay, from where, into what. */
export const replaySpecSchema = z.object({
  /** The queue that receives the copies; `create` makes it first if missing (a new consumer's queue). */
  target: z.object({
    queue: z.string().min(1),
    create: queueConfigSchema.partial().optional(),
  }),
  start: position,
  /** Inclusive end; default: the log's end when the replay starts. */
  end: z.discriminatedUnion('kind', [fromTimestamp, fromMessageId]).optional(),
  /** Only messages whose topic matches this MQTT filter. */
  topicFilter: z.string().optional(),
});

export type ReplaySpec = z.infer<typeof replaySpecSchema>;
