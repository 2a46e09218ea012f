import { z } from 'zod';

// Pure schema module (no Node APIs): the config file, the API contract and the UI share it.
// docs/push.md describes every field.

/** A push consumer's name: unique in the broker, safe in a URL path and a metrics label. */
export const pushNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Shown instead of a stored secret: exports and the API never give a secret back. */
export const redactedSecret = '********';

/** How the push consumer authenticates to its endpoint. Secrets may be left out on update to keep the stored one. */
export const pushAuthSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('basic'),
      username: z.string().min(1).max(256),
      password: z.string().max(1024).optional(),
    }),
    z.strictObject({ type: z.literal('bearer'), token: z.string().min(1).max(8192).optional() }),
    z.strictObject({
      type: z.literal('header'),
      name: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'an HTTP header name'),
      value: z.string().min(1).max(8192).optional(),
    }),
  ])
  .default({ type: 'none' })
  .meta({ description: 'none, basic (username + password), bearer (token) or header (name + value)' });

/** TLS towards an https endpoint: PEM text. */
export const pushTlsSchema = z
  .strictObject({
    /** CA bundle that signs the endpoint's certificate (besides the system's). */
    ca: z.string().min(1).optional().meta({ description: 'PEM CA bundle for the endpoint certificate' }),
    /** Client certificate, for endpoints that want one (mutual TLS). */
    cert: z.string().min(1).optional().meta({ description: 'PEM client certificate (mutual TLS)' }),
    /** Its private key: a secret, never shown back. */
    key: z.string().min(1).optional().meta({ description: 'PEM client key; a secret, never shown back' }),
    /** false accepts any certificate: for tests only. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .prefault({});

/** How failed attempts are retried: exponential backoff with jitter, capped. */
export const pushRetrySchema = z
  .strictObject({
    initialDelayMs: z.number().int().min(1).max(3_600_000).default(1000),
    maxDelayMs: z.number().int().min(1).max(3_600_000).default(60_000),
    /** A Retry-After longer than this is cut to it. */
    maxRetryAfterMs: z.number().int().min(0).max(86_400_000).default(300_000),
  })
  .prefault({});

/** What defines one push consumer. */
export const pushConsumerConfigSchema = z.strictObject({
  name: z.string().regex(pushNamePattern, 'a name: letters, digits, ".", "_" and "-", at most 64'),
  /** The queue it consumes. */
  queue: z.string().min(1).max(255),
  /** The endpoint: http:// or https://. */
  url: z.string().max(2048).refine(isHttpUrl, 'an http:// or https:// URL'),
  method: z.enum(['POST', 'PUT']).default('POST'),
  /** Static headers sent with every request. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/), z.string().max(8192)).default({}),
  auth: pushAuthSchema,
  tls: pushTlsSchema,
  /** An attempt that has no answer after this long is abandoned and retried. */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** Requests at once; 1 keeps the queue's order strictly. */
  concurrency: z.number().int().min(1).max(64).default(1),
  retry: pushRetrySchema,
  /** 4xx answers that reject the message for good (to the DMQ); other 4xx are retried. */
  rejectStatuses: z.array(z.number().int().min(400).max(499)).max(100).default([400, 422]),
  /** false keeps it configured but stopped. */
  enabled: z.boolean().default(true),
});

/** A push consumer's configuration, every default filled in. */
export type PushConsumerConfig = Readonly<z.infer<typeof pushConsumerConfigSchema>>;
/** What a caller writes (config file, API, CLI). */
export type PushConsumerConfigInput = z.input<typeof pushConsumerConfigSchema>;

/** The config file's `push` list: names unique. */
export const pushConsumersConfigSchema = z
  .array(pushConsumerConfigSchema)
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((push, index) => {
      if (seen.has(push.name))
        ctx.addIssue({ code: 'custom', message: `push consumer "${push.name}" is declared twice`, path: [index] });
      seen.add(push.name);
    });
  });

/** The configuration with every secret replaced by `redactedSecret` (for the API and exports). */
export function redactPushConfig(config: PushConsumerConfig): PushConsumerConfig {
  const auth = config.auth;
  const redactedAuth =
    auth.type === 'basic'
      ? { ...auth, password: redactedSecret }
      : auth.type === 'bearer'
        ? { ...auth, token: redactedSecret }
        : auth.type === 'header'
          ? { ...auth, value: redactedSecret }
          : auth;
  return {
    ...config,
    auth: redactedAuth,
    tls: { ...config.tls, ...(config.tls.key !== undefined && { key: redactedSecret }) },
  };
}

/**
 * Whether a stored secret may follow a configuration from `previousUrl` to `url`: only to the
 * origin it was given for, so repointing a push consumer never hands the old endpoint's
 * credentials to a new one.
 */
export function secretsMayFollow(previousUrl: string, url: string): boolean {
  return new URL(previousUrl).origin === new URL(url).origin;
}

/** True when the configuration holds a secret as the placeholder `redactedSecret` instead of its value. */
export function hasRedactedSecret(config: PushConsumerConfig): boolean {
  const { auth, tls } = config;
  const secret =
    auth.type === 'basic'
      ? auth.password
      : auth.type === 'bearer'
        ? auth.token
        : auth.type === 'header'
          ? auth.value
          : undefined;
  return secret === redactedSecret || tls.key === redactedSecret;
}

// ── status ──────────────────────────────────────────────────────────────────────────────

/** Where a push consumer stands. */
export const pushStates = [
  /** Requests going out, or waiting for messages. */
  'delivering',
  /** An attempt failed; the next one waits for its backoff. */
  'backing-off',
  /** Several attempts in a row found no endpoint (connection refused, timeouts): backing off. */
  'endpoint-down',
  /** Disabled, its queue missing, or the broker closing. */
  'stopped',
] as const;

/** Alarms the Overview raises for a push consumer. */
export const pushAlarms = [
  /** The endpoint has been unreachable for longer than the alarm delay. */
  'endpoint-down',
  /** The endpoint rejected messages (they went to the DMQ). */
  'messages-rejected',
  /** The queue it consumes does not exist. */
  'queue-missing',
] as const;

/** One push consumer's status, as the API, the CLI, the UI and the metrics show it. */
export const pushStatusSchema = z.object({
  name: z.string(),
  queue: z.string(),
  url: z.string(),
  enabled: z.boolean(),
  state: z.enum(pushStates),
  /** Ready + in-flight messages of its queue. */
  backlog: z.number().int(),
  inFlight: z.number().int(),
  /** Acknowledged by the endpoint (2xx), since start. */
  delivered: z.number().int(),
  /** Failed attempts that will be retried (429, 5xx, timeouts, connection errors), since start. */
  retried: z.number().int(),
  /** Rejected for good by a status in rejectStatuses, since start (to the DMQ). */
  rejected: z.number().int(),
  /** Deliveries per second over the last 10 s. */
  ratePerSecond: z.number(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.object({ message: z.string(), at: z.number() }).nullable(),
  lastSuccessAt: z.number().nullable(),
  /** Milliseconds since the last success, or since start when none yet. */
  sinceLastSuccessMs: z.number().int(),
  /** Failed attempts in a row. */
  consecutiveFailures: z.number().int(),
  /** When the next attempt is due, while backing off. */
  nextAttemptAt: z.number().nullable(),
  alarms: z.array(z.enum(pushAlarms)),
});

/** One push consumer's status. */
export type PushStatus = z.infer<typeof pushStatusSchema>;
/** A push consumer state. */
export type PushState = (typeof pushStates)[number];
/** A push consumer alarm. */
export type PushAlarm = (typeof pushAlarms)[number];

/** A push consumer as the API lists it: its configuration (secrets redacted) and its status. */
export const pushConsumerViewSchema = z.object({
  config: pushConsumerConfigSchema,
  status: pushStatusSchema,
  /** `file`: declared in the config file (changes there win at the next start); `api`: created at run time. */
  source: z.enum(['file', 'api']),
});

/** A push consumer as listed. */
export type PushConsumerView = z.infer<typeof pushConsumerViewSchema>;

/**
 * The push consumers as the API service and config import use them. core/protocols/push
 * implements it (its PushConsumers adds metrics and close); here so that the api and push
 * layers share one declaration.
 */
export interface PushRegistry {
  /** Each one's configuration (secrets redacted) and status, by name. */
  list(queue?: string): PushConsumerView[];
  /** One of them; push-consumer-not-found when there is none. */
  get(name: string): PushConsumerView;
  /**
   * Creates or replaces one and (re)starts it. A secret left out, or given as the redacted
   * placeholder, keeps the stored one.
   */
  put(input: PushConsumerConfigInput, by: { user: string | null }): Promise<PushConsumerView>;
  /** Stops one (its requests under way are released back to the queue) and forgets it. */
  delete(name: string): Promise<void>;
  /** Each one's status. */
  statuses(): PushStatus[];
  /** Every configuration with its secrets (a configuration export with secrets; undoing an import). */
  configs(): PushConsumerConfig[];
}

/** `endpoint-down` is raised after this long without reaching the endpoint. */
export const pushDownAlarmMs = 30_000;

/** Prometheus text exposition (0.0.4) of push consumer statuses, for the broker's `/metrics`. */
export function pushMetrics(statuses: readonly PushStatus[]): string {
  const families: Array<[string, 'gauge' | 'counter', string, (s: PushStatus) => number]> = [
    ['sluice_push_up', 'gauge', '1 while the push consumer is delivering (not backing off)', (s) => up(s)],
    ['sluice_push_backlog_messages', 'gauge', 'Messages waiting in the queue it consumes', (s) => s.backlog],
    ['sluice_push_in_flight_messages', 'gauge', 'Requests sent and not yet answered', (s) => s.inFlight],
    ['sluice_push_delivered_total', 'counter', 'Messages the endpoint acknowledged (2xx)', (s) => s.delivered],
    ['sluice_push_retried_total', 'counter', 'Failed attempts that were retried', (s) => s.retried],
    ['sluice_push_rejected_total', 'counter', 'Messages the endpoint rejected (to the DMQ)', (s) => s.rejected],
    [
      'sluice_push_last_success_timestamp_seconds',
      'gauge',
      'Time of the last 2xx answer (0: none yet)',
      (s) => (s.lastSuccessAt ?? 0) / 1000,
    ],
    ['sluice_push_alarms', 'gauge', 'Number of alarms raised for the push consumer', (s) => s.alarms.length],
  ];
  const lines: string[] = [];
  for (const [name, type, help, value] of families) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const status of statuses)
      lines.push(`${name}{push="${escapeLabel(status.name)}",queue="${escapeLabel(status.queue)}"} ${value(status)}`);
  }
  return `${lines.join('\n')}\n`;
}

function isHttpUrl(text: string): boolean {
  if (!/^https?:\/\/[^\s]+$/i.test(text)) return false;
  try {
    return new URL(text).hostname !== '';
  } catch {
    return false;
  }
}

function up(status: PushStatus): number {
  return status.state === 'delivering' ? 1 : 0;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
