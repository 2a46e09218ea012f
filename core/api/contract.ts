/**
 * The one typed API contract (STYLE.md §9, after ts-rest): every operation declared as data —
 * summary, zod input and output, the error codes it may answer with, and its HTTP binding.
 * The service, the HTTP routes, the OpenAPI document, the typed client and the CLI are all
 * derived from this table, so an operation is added here once.
 *
 * Browser-safe: imports only zod, the error catalog and the pure schema modules.
 *
 * Wire conventions:
 * - Message, entry, dead-message and replay ids are decimal strings (DESIGN.md: ids are strings).
 * - Times are milliseconds since the Unix epoch (numbers); durations end in `Ms`.
 * - Payloads travel as `payload` + `payloadEncoding`: `utf8` text when the bytes are valid
 *   UTF-8, otherwise `base64`. Inputs choose their encoding (default `utf8`).
 * - HTTP: path params and (for GET/DELETE) query parameters, or a JSON body, together form the
 *   input object; errors are `application/problem+json` (see `problemSchema`).
 */
import { z } from 'zod';
import { bridgeStatusSchema } from '../schema/bridge-status.ts';
import { configDocumentSchema } from '../schema/config-document.ts';
import { pushConsumerConfigSchema, pushConsumerViewSchema, pushStatusSchema } from '../schema/push-config.ts';
import { SluiceError, type ErrorCode } from '../errors.ts';
import { checkedString, queueConfigSchema, queueNamePattern, topicFilterSchema } from '../schema/queue-config.ts';
import { replaySpecSchema } from '../schema/replay-spec.ts';
import { assertTopicName } from '../schema/topic.ts';

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
/** Milliseconds since the Unix epoch. */
const epochMs = z.number().int().nonnegative();
const count = z.number().int().nonnegative();

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

/**
 * Subscriptions, re-declared with the coded filter check: queue-config.ts's own check reports
 * a plain custom issue, which would answer invalid-input instead of invalid-topic-filter.
 * (Drop this once queue-config.ts attaches `params: { code }` to its issue.)
 */
const subscriptionsSchema = z.array(topicFilterSchema).max(1000);

/**
 * Queue config changes: every field optional and without defaults, so an update touches only
 * what it names (zod's `.partial()` would fill in the defaults and reset the rest).
 */
const queueConfigPatchShape = Object.fromEntries(
  Object.entries(queueConfigSchema.shape).map(([key, field]) => [key, field.removeDefault().optional()]),
) as {
  [K in keyof typeof queueConfigSchema.shape]: z.ZodOptional<
    ReturnType<(typeof queueConfigSchema.shape)[K]['removeDefault']>
  >;
};

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

/** Which dead messages an operation applies to: exactly one of ids, a non-empty filter, or all. */
const deadMessageSelectionSchema = z
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

const page = {
  limit: z.number().int().min(1).max(1000).default(100),
};

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

const byName = z.strictObject({ name: queueNameSchema });
const byId = z.strictObject({ id: idSchema });

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

/** What a publisher gets back once the message is durable. */
const publishReceiptSchema = z.object({
  id: idSchema,
  timestamp: epochMs,
  /** Queues it was enqueued to (or dead-lettered from, on overflow). */
  queues: z.array(z.string()),
});

/** A pull receiver's handle on one delivery attempt: the entry id and a random tag. */
export const deliveryIdSchema = z
  .string()
  .regex(/^[1-9]\d{0,15}-[0-9a-f]{12}$/, 'a delivery id is what messages:receive answered, e.g. 42-0a1b2c3d4e5f')
  .meta({ description: 'Delivery id from messages:receive' });

const settleInput = z.strictObject({ name: queueNameSchema, deliveryId: deliveryIdSchema });
const settleOutput = z.object({
  name: z.string(),
  deliveryId: z.string(),
  outcome: z.enum(['ack', 'reject', 'release']),
});

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

// ── security and connections ─────────────────────────────────────────────────────────

/** A user name. */
export const userNameSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a user name is 1–64 of A–Z a–z 0–9 . _ @ -');
/** A new password. */
export const passwordSchema = z.string().min(8, 'a password has at least 8 characters').max(1024);
/** A user as the API shows it (never its password hash). */
export const userSchema = z.object({
  name: z.string(),
  roles: z.array(z.string()),
  createdAt: epochMs,
  updatedAt: epochMs,
});
/** One ACL rule: actions granted on resource patterns (docs/security.md). */
export const aclRuleSchema = z.strictObject({
  actions: z.array(z.union([actionSchema, z.literal('*')])).min(1),
  patterns: z.array(z.string().min(1).max(1024)).min(1).max(1000),
});
/** A role. */
export const roleSchema = z.object({
  name: z.string(),
  description: z.string(),
  rules: z.array(aclRuleSchema),
  builtIn: z.boolean(),
});
/** A bearer token from login or setup. */
export const tokenSchema = z.object({ token: z.string(), expiresAt: epochMs, user: z.string() });
/** Selects audit records. */
export const auditFilterSchema = z.strictObject({
  user: z.string().optional(),
  operation: z.string().optional(),
  result: z.enum(['ok', 'refused', 'failed']).optional(),
  from: epochMs.optional().meta({ description: 'At or after (ms since epoch)' }),
  until: epochMs.optional().meta({ description: 'At or before (ms since epoch)' }),
});
/** One audit record. */
export const auditRecordSchema = z.object({
  id: idSchema,
  at: epochMs,
  user: z.string().nullable(),
  protocol: z.string(),
  address: z.string().nullable(),
  operation: z.string(),
  resource: z.string(),
  result: z.enum(['ok', 'refused', 'failed']),
  code: z.string().nullable(),
  detail: z.string().nullable(),
});
/** A client connection on any protocol. */
export const connectionSchema = z.object({
  id: z.string(),
  protocol: z.string(),
  clientId: z.string().nullable(),
  user: z.string().nullable(),
  address: z.string().nullable(),
  connectedAt: epochMs,
  counters: z.object({ messagesIn: count, messagesOut: count }),
});

// ── demo scenarios ───────────────────────────────────────────────────────────────────

/** A demo scenario's name (a file in resources/scenarios/). */
export const demoNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a scenario name: lower-case letters, digits and -');

/** A demo scenario as listed: its simulated systems and its narrated steps. */
export const demoScenarioSchema = z.object({
  name: z.string(),
  title: z.string(),
  summary: z.string(),
  defaultSpeed: z.number(),
  actors: z.array(z.object({ id: z.string(), label: z.string(), system: z.string(), protocol: z.string() })),
  steps: z.array(z.object({ narration: z.string(), kind: z.string() })),
});

/** One check of a demo run: what was expected, what was found. */
export const demoCheckResultSchema = z.object({
  /** Index of the step that made it. */
  step: count,
  label: z.string(),
  pass: z.boolean(),
  expected: z.string(),
  actual: z.string(),
});

/** The current (or last) demo run, with progress per step and the checks so far. */
export const demoStatusSchema = z.object({
  scenario: z.string().nullable(),
  title: z.string().nullable(),
  /** idle: nothing ran since start; passed/failed: finished, by its checks. */
  state: z.enum(['idle', 'running', 'passed', 'failed', 'stopped']),
  runId: z.string().nullable(),
  speed: z.number(),
  startedAt: epochMs.nullable(),
  finishedAt: epochMs.nullable(),
  /** The simulated plant clock (`08:17`). */
  plantClock: z.string().nullable(),
  steps: z.array(
    z.object({
      narration: z.string(),
      kind: z.string(),
      state: z.enum(['pending', 'running', 'done', 'failed', 'skipped']),
      /** What the step is doing or did, in one line. */
      detail: z.string().nullable(),
      progress: z.object({ done: count, total: count }).nullable(),
    }),
  ),
  checks: z.array(demoCheckResultSchema),
  error: z.string().nullable(),
});

// ── operations ───────────────────────────────────────────────────────────────────────

/** HTTP methods the API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** How an operation is reached over HTTP. */
export interface HttpBinding {
  readonly method: HttpMethod;
  /**
   * Path under the server root; `:name` segments are input fields, `:id:cancel` a param plus a
   * verb, and `:topic*` a field spanning the rest of the path, slashes included.
   */
  readonly path: string;
  /** Success status (default 200). */
  readonly status?: 200 | 201;
  /**
   * `raw`: the request body is the message payload and headers carry its properties
   * (topics.publish; the HTTP door maps them, see docs/http.md). Default: a JSON object.
   */
  readonly body?: 'json' | 'raw';
}

/**
 * What a caller needs to run an operation (docs/security.md). `public`: nothing, not even
 * credentials (health, login, first-run setup). `authenticated`: any principal the policy lets
 * in. `acl`: `action` on every resource `resources(input)` names (topics, filters, queue names,
 * or `$security` / `$connections` for user and connection management).
 */
export type Permission<Input = never> =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | {
      readonly kind: 'acl';
      readonly action: WireAction;
      resources(input: Input): readonly string[];
    };

const publicAccess = { kind: 'public' } as const;
const authenticated = { kind: 'authenticated' } as const;
const everything = () => ['#'];
const securityResource = () => ['$security'];
const connectionsResource = () => ['$connections'];
const demoResource = () => ['$demo'];

/**
 * Export, import and backup cover every queue and the security store: `manage` on both
 * (`#` does not match `$security`, DESIGN.md: `$…` resources).
 */
const configResources = () => ['#', '$security'];

/** One line of an import's plan: what changes (or would), on which object. */
export const configChangeSchema = z.object({
  kind: z.enum(['queue', 'role', 'user', 'bridge', 'listener']),
  name: z.string(),
  /** manual: in the document but only the config file can apply it (bridges, listeners). */
  action: z.enum(['create', 'update', 'unchanged', 'manual', 'skip']),
  /** The fields that differ, for updates. */
  fields: z.array(z.string()),
  detail: z.string().optional(),
});

/** What an import did, or (dry run) would do. */
export const configImportResultSchema = z.object({
  dryRun: z.boolean(),
  applied: z.boolean(),
  changes: z.array(configChangeSchema),
  warnings: z.array(z.string()),
});

/** An online backup's progress. */
export const backupStatusSchema = z.object({
  id: idSchema,
  state: z.enum(['running', 'completed', 'failed']),
  /** File name in the data directory's backups/ folder. */
  file: z.string(),
  totalPages: count,
  remainingPages: count,
  bytes: count,
  startedAt: epochMs,
  finishedAt: epochMs.nullable(),
  error: z.string().nullable(),
});

/** One API operation, declared as data. */
export interface Operation<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly summary: string;
  readonly input: I;
  /** For `ndjson` operations: the schema of one line. */
  readonly output: O;
  /** Codes this operation answers with besides the common ones. */
  readonly errors: readonly ErrorCode[];
  readonly http: HttpBinding;
  /** Who may run it; enforced by the service for every transport (HTTP, IPC, CLI). */
  readonly permission: Permission<z.output<I>>;
  /**
   * `ndjson`: the answer is a stream of lines (large exports), not one JSON document.
   * `events`: a live subscription; `output` is the schema of one event (HTTP: server-sent events).
   */
  readonly response?: ResponseKind;
}

/** How an operation answers: one JSON document, NDJSON lines, or live events. */
export type ResponseKind = 'json' | 'ndjson' | 'events';

/** Codes any operation may answer with. */
export const commonErrors: readonly ErrorCode[] = ['invalid-input', 'broker-closing', 'store-error', 'internal'];

/** Declares an operation, keeping its schemas' and response kind's exact types. */
function operation<I extends z.ZodType, O extends z.ZodType, R extends ResponseKind = 'json'>(
  op: Operation<I, O> & { readonly response?: R },
): Operation<I, O> & { readonly response?: R } {
  return op;
}

const api = '/api/v1';

/** Every operation of the Sluice API. */
export const contract = {
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
  'auth.status': operation({
    summary: 'What a client needs before logging in: is first-run setup open, is anonymous access on',
    input: z.strictObject({}),
    output: z.object({ setupRequired: z.boolean(), anonymous: z.boolean() }),
    errors: [],
    http: { method: 'GET', path: `${api}/auth/status` },
    permission: publicAccess,
  }),
  'auth.setup': operation({
    summary: 'First run: create the first admin user (only while no user exists) and log in as it',
    input: z.strictObject({ user: userNameSchema.default('admin'), password: passwordSchema }),
    output: tokenSchema,
    errors: ['not-authorized'],
    http: { method: 'POST', path: `${api}/auth/setup`, status: 201 },
    permission: publicAccess,
  }),
  'auth.login': operation({
    summary: 'Exchange a user name and password for a bearer token (failed attempts are slowed down and logged)',
    input: z.strictObject({ user: z.string().min(1).max(64), password: z.string().max(1024) }),
    output: tokenSchema,
    errors: ['not-authenticated'],
    http: { method: 'POST', path: `${api}/auth/login` },
    permission: publicAccess,
  }),
  'auth.logout': operation({
    summary: 'Revoke the bearer token this request carries',
    input: z.strictObject({}),
    output: z.object({ loggedOut: z.boolean() }),
    errors: [],
    http: { method: 'POST', path: `${api}/auth/logout` },
    permission: authenticated,
  }),
  'auth.whoami': operation({
    summary: 'Who this request is, with its roles',
    input: z.strictObject({}),
    output: z.object({ user: z.string().nullable(), protocol: z.string(), roles: z.array(z.string()) }),
    errors: [],
    http: { method: 'GET', path: `${api}/auth/whoami` },
    permission: authenticated,
  }),
  'users.list': operation({
    summary: 'List users and their roles',
    input: z.strictObject({}),
    output: z.object({ users: z.array(userSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/users` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'users.create': operation({
    summary: 'Create a user with a password (stored scrypt-hashed) and roles',
    input: z.strictObject({ name: userNameSchema, password: passwordSchema, roles: z.array(z.string()).default([]) }),
    output: userSchema,
    errors: ['user-exists', 'role-not-found'],
    http: { method: 'POST', path: `${api}/users`, status: 201 },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'users.update': operation({
    summary: 'Change a user’s password or roles',
    input: z.strictObject({
      name: userNameSchema,
      password: passwordSchema.optional(),
      roles: z.array(z.string()).optional(),
    }),
    output: userSchema,
    errors: ['user-not-found', 'role-not-found'],
    http: { method: 'PATCH', path: `${api}/users/:name` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'users.delete': operation({
    summary: 'Delete a user and revoke its tokens (not the last admin)',
    input: z.strictObject({ name: userNameSchema }),
    output: z.object({ name: z.string(), deleted: z.literal(true) }),
    errors: ['user-not-found'],
    http: { method: 'DELETE', path: `${api}/users/:name` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'roles.list': operation({
    summary: 'List roles (built-in and defined) with their ACL rules',
    input: z.strictObject({}),
    output: z.object({ roles: z.array(roleSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/roles` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'roles.put': operation({
    summary: 'Create or replace a role’s ACL rules',
    input: z.strictObject({
      name: z.string().min(1).max(64),
      description: z.string().max(1000).default(''),
      rules: z.array(aclRuleSchema).max(1000),
    }),
    output: roleSchema,
    errors: [],
    http: { method: 'POST', path: `${api}/roles` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'roles.delete': operation({
    summary: 'Delete a role no user has',
    input: z.strictObject({ name: z.string().min(1).max(64) }),
    output: z.object({ name: z.string(), deleted: z.literal(true) }),
    errors: ['role-not-found'],
    http: { method: 'DELETE', path: `${api}/roles/:name` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'audit.list': operation({
    summary: 'Browse the audit log of management actions (who, what, when, result), oldest first',
    input: auditFilterSchema.extend({ afterId: idSchema.optional(), ...page }).strict(),
    output: z.object({ records: z.array(auditRecordSchema), nextAfterId: idSchema.nullable() }),
    errors: [],
    http: { method: 'GET', path: `${api}/audit` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
  }),
  'audit.export': operation({
    summary: 'Export the audit log as NDJSON',
    input: auditFilterSchema,
    output: auditRecordSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/audit:export` },
    permission: { kind: 'acl', action: 'manage', resources: securityResource },
    response: 'ndjson',
  }),
  'connections.list': operation({
    summary: 'Client connections on every protocol: who, from where, since when, with counters',
    input: z.strictObject({ protocol: z.string().optional() }),
    output: z.object({ connections: z.array(connectionSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/connections` },
    permission: { kind: 'acl', action: 'browse', resources: connectionsResource },
  }),
  'connections.disconnect': operation({
    summary: 'Close a client connection (its unsettled deliveries are redelivered)',
    input: z.strictObject({ id: z.string().min(1).max(200) }),
    output: z.object({ id: z.string(), disconnected: z.literal(true) }),
    errors: ['connection-not-found'],
    http: { method: 'POST', path: `${api}/connections/:id:disconnect` },
    permission: { kind: 'acl', action: 'manage', resources: connectionsResource },
  }),
  'demo.list': operation({
    summary: 'List the demo and training scenarios with their simulated systems and narrated steps',
    input: z.strictObject({}),
    output: z.object({ scenarios: z.array(demoScenarioSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/demo/scenarios` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.start': operation({
    summary: 'Reset a scenario’s namespace and run it against this broker (one run at a time)',
    input: z.strictObject({
      name: demoNameSchema,
      speed: z
        .number()
        .positive()
        .max(100_000)
        .optional()
        .meta({ description: 'Plant ms per real ms (default: the scenario’s own)' }),
    }),
    output: demoStatusSchema,
    errors: ['queue-in-use', 'invalid-config'],
    http: { method: 'POST', path: `${api}/demo/scenarios/:name:start` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [`demo/${input.name}`] },
  }),
  'demo.status': operation({
    summary: 'Progress of the current or last demo run: each step, the checks and the outcome',
    input: z.strictObject({}),
    output: demoStatusSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/demo/status` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.stop': operation({
    summary: 'Stop the running demo (its simulated clients disconnect; its namespace stays until reset)',
    input: z.strictObject({}),
    output: demoStatusSchema,
    errors: [],
    http: { method: 'POST', path: `${api}/demo:stop` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.reset': operation({
    summary: 'Delete everything in a scenario’s namespace: its queues, session queues and dead messages',
    input: z.strictObject({ name: demoNameSchema }),
    output: z.object({ name: z.string(), deletedQueues: z.array(z.string()), purgedDead: count }),
    errors: ['queue-in-use'],
    http: { method: 'POST', path: `${api}/demo/scenarios/:name:reset` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [`demo/${input.name}`] },
  }),
  'bridges.status': operation({
    summary: 'Each bridge: connection, backlog, rates, last error, alarms',
    input: z.strictObject({}),
    output: z.object({ bridges: z.array(bridgeStatusSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/bridges` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'config.export': operation({
    summary:
      'Export the declared configuration as one versioned document: queues, roles, users, bridges, listeners (secrets only with includeSecrets)',
    input: z.strictObject({
      includeSecrets: z
        .boolean()
        .default(false)
        .meta({ description: 'Include password hashes and bridge credentials' }),
    }),
    output: configDocumentSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/config:export` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'config.import': operation({
    summary: 'Apply a configuration document (all or nothing, idempotent); dryRun only answers what would change',
    input: z.strictObject({
      document: z
        .record(z.string(), z.unknown())
        .meta({ description: 'A configuration document (JSON Schema: GET /api/v1/config/schema)' }),
      dryRun: z.boolean().default(false).meta({ description: 'Only show what would change' }),
    }),
    output: configImportResultSchema,
    errors: ['invalid-config-document', 'role-not-found'],
    http: { method: 'POST', path: `${api}/config:import` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'config.schema': operation({
    summary: 'The JSON Schema of the configuration document (published beside the OpenAPI document)',
    input: z.strictObject({}),
    output: z.record(z.string(), z.unknown()),
    errors: [],
    http: { method: 'GET', path: `${api}/config/schema` },
    permission: authenticated,
  }),
  'config.rabbitmq': operation({
    summary:
      'Export the topology as a RabbitMQ definitions document (quorum queues, DMQs, amqp.topic bindings, permissions) with warnings for what RabbitMQ cannot express',
    input: z.strictObject({
      vhost: z.string().min(1).max(255).default('/').meta({ description: 'RabbitMQ virtual host' }),
    }),
    output: z.object({ definitions: z.record(z.string(), z.unknown()), warnings: z.array(z.string()) }),
    errors: [],
    http: { method: 'GET', path: `${api}/config:export-rabbitmq` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.start': operation({
    summary:
      'Start an online backup of the store (SQLite backup API) while the broker keeps running; poll backup.get for progress',
    input: z.strictObject({}),
    output: backupStatusSchema,
    errors: [],
    http: { method: 'POST', path: `${api}/backups`, status: 201 },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.get': operation({
    summary: 'A backup’s progress (pages copied) and outcome',
    input: byId,
    output: backupStatusSchema,
    errors: ['backup-not-found'],
    http: { method: 'GET', path: `${api}/backups/:id` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.download': operation({
    summary: 'A finished backup’s bytes as NDJSON chunks (offset + base64), for `sluice backup FILE` and the UI',
    input: byId,
    output: z.object({ offset: count, data: z.string(), totalBytes: count }),
    errors: ['backup-not-found'],
    http: { method: 'GET', path: `${api}/backups/:id/content` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
    response: 'ndjson',
  }),
  // HTTP push consumers (docs/push.md). Configuring one makes the queue's messages flow out of
  // the broker: it needs `manage` on the queue, and the service also checks `consume` on the
  // queue and `subscribe` on its topics (DESIGN.md: authorize the flow).
  'push.list': operation({
    summary: 'The push consumers of a queue: configuration (secrets hidden) and status',
    input: z.strictObject({ queue: queueNameSchema }),
    output: z.object({ pushConsumers: z.array(pushConsumerViewSchema) }),
    errors: ['invalid-queue-name'],
    http: { method: 'GET', path: `${api}/queues/:queue/push` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.queue] },
  }),
  'push.put': operation({
    summary: 'Create or replace a push consumer of a queue (a secret left out keeps the stored one)',
    input: pushConsumerConfigSchema.extend({ queue: queueNameSchema }),
    output: pushConsumerViewSchema,
    errors: ['queue-not-found', 'invalid-queue-name', 'not-authorized'],
    http: { method: 'POST', path: `${api}/queues/:queue/push` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.queue] },
  }),
  'push.delete': operation({
    summary: 'Delete a push consumer; its requests under way are released back to the queue',
    input: z.strictObject({ queue: queueNameSchema, name: z.string().min(1).max(64) }),
    output: z.object({ name: z.string(), deleted: z.literal(true) }),
    errors: ['push-consumer-not-found', 'invalid-queue-name'],
    http: { method: 'DELETE', path: `${api}/queues/:queue/push/:name` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.queue] },
  }),
  'push.status': operation({
    summary: 'Each push consumer on a queue the caller may browse: state, last answer, in flight, rate, alarms',
    input: z.strictObject({}),
    output: z.object({ pushConsumers: z.array(pushStatusSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/push` },
    // The service lists only the push consumers of queues the caller may browse.
    permission: authenticated,
  }),
  health: operation({
    summary: 'Is the broker up, and which version',
    input: z.strictObject({}),
    output: z.object({ status: z.enum(['ok', 'closing']), version: z.string(), uptimeMs: count }),
    errors: [],
    http: { method: 'GET', path: `${api}/health` },
    permission: publicAccess,
  }),
} as const satisfies Record<string, Operation>;

// ── types, from z.infer only ─────────────────────────────────────────────────────────

/** The contract's type. */
export type Contract = typeof contract;
/** Name of any operation. */
export type OperationName = keyof Contract;
/** Operations whose answer is an NDJSON stream. */
export type StreamOperationName = {
  [N in OperationName]: Contract[N] extends { readonly response?: 'ndjson' } ? N : never;
}[OperationName];
/** Operations that are live event subscriptions. */
export type EventOperationName = {
  [N in OperationName]: Contract[N] extends { readonly response?: 'events' } ? N : never;
}[OperationName];
/** Operations answering one JSON document. */
export type UnaryOperationName = Exclude<OperationName, StreamOperationName | EventOperationName>;
/** What a caller passes (defaults not yet applied). */
export type OperationInput<N extends OperationName> = z.input<Contract[N]['input']>;
/** The input after validation (defaults applied). */
export type ParsedInput<N extends OperationName> = z.output<Contract[N]['input']>;
/** What an operation answers (for streams: one line). */
export type OperationOutput<N extends OperationName> = z.output<Contract[N]['output']>;
/** A problem+json error body. */
export type Problem = z.infer<typeof problemSchema>;
/** A message on the wire. */
export type WireMessage = z.infer<typeof messageSchema>;
/** A queue on the wire. */
export type WireQueueInfo = z.infer<typeof queueInfoSchema>;
/** A dead message on the wire. */
export type WireDeadMessage = z.infer<typeof deadMessageSchema>;
/** Message rates. */
export type Rates = z.infer<typeof ratesSchema>;
/** Broker stats on the wire. */
export type WireStats = z.infer<typeof statsSchema>;
/** One live event. */
export type BrokerEvent = z.infer<typeof brokerEventSchema>;
/** A live message event. */
export type MessageEvent = z.infer<typeof messageEventSchema>;
/** A coalesced topic tree frame. */
export type TopicsEvent = z.infer<typeof topicsEventSchema>;
/** A demo run's status. */
export type DemoStatus = z.infer<typeof demoStatusSchema>;
/** A demo scenario as listed. */
export type DemoScenario = z.infer<typeof demoScenarioSchema>;
/** One topic of the topic tree. */
export type TopicNode = z.infer<typeof topicNodeSchema>;
/** What a configuration import did or would do. */
export type ConfigImportResult = z.infer<typeof configImportResultSchema>;
/** An online backup's progress. */
export type BackupStatus = z.infer<typeof backupStatusSchema>;

/** All operation names, in declaration order. */
export const operationNames = Object.keys(contract) as OperationName[];

// ── helpers every transport shares ───────────────────────────────────────────────────

/** Explains zod issues in one line: `field.path: problem; …`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'input'}: ${issue.message}`)
    .join('; ');
}

/**
 * Validates an operation's input (STYLE.md §9: inputs parsed at every edge). A failed check
 * from a schema module keeps its own code (invalid-topic, invalid-queue-name…), else invalid-input.
 */
export function parseInput<N extends OperationName>(name: N, input: unknown): ParsedInput<N> {
  const result = contract[name].input.safeParse(input ?? {});
  if (result.success) return result.data as ParsedInput<N>;
  const issues = result.error.issues;
  const coded = issues.find((issue) => issue.code === 'custom' && typeof issue.params?.code === 'string');
  const code = (coded?.code === 'custom' ? coded.params?.code : undefined) as ErrorCode | undefined;
  throw new SluiceError(code ?? 'invalid-input', describeIssues(issues));
}

/** What an input field is under its optional/default/nullable wrappers (for query strings and CLI flags). */
export function fieldType(schema: z.ZodType): { type: string; nullable: boolean; values?: readonly string[] } {
  let def = schema.def as { type: string; innerType?: z.ZodType; entries?: Record<string, string> };
  let nullable = false;
  while (def.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type)) {
    if (def.type === 'nullable') nullable = true;
    def = def.innerType.def as typeof def;
  }
  return { type: def.type, nullable, ...(def.entries && { values: Object.values(def.entries) }) };
}

/** Names of the `:params` in an HTTP path template, in order. */
export function pathParamNames(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.startsWith(':'))
    .map((segment) => segment.slice(1).split(':')[0]!.replace(/\*$/, ''));
}

/** Fills a path template from input fields (URI-encoded, so `mqtt/plc-7` stays one segment). */
export function fillPath(path: string, input: Readonly<Record<string, unknown>>): string {
  return path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment;
      const [name, ...verb] = segment.slice(1).split(':');
      const suffix = verb.length > 0 ? `:${verb.join(':')}` : '';
      const value = String(input[name!.replace(/\*$/, '')] ?? '');
      // A rest field (`:topic*`) keeps its slashes as path separators; each level is encoded.
      const encoded = name!.endsWith('*')
        ? value.split('/').map(encodeURIComponent).join('/')
        : encodeURIComponent(value);
      return `${encoded}${suffix}`;
    })
    .join('/');
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}
