/**
 * The broker's configuration: one zod schema, filled from (lowest to highest) its defaults, a
 * JSON file (`--config` or SLUICE_CONFIG), environment variables, and CLI flags. Anything
 * invalid is one SluiceError('invalid-config') naming the field, the problem and its source.
 *
 * Adding a listener's section (mqtt, amqp…): add its schema to `configSchema` with
 * `.prefault({})` so its defaults apply, and its variables to `environmentVariables`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { queueNameSchema } from './api/contract.ts';
import { queueConfigSchema } from './schema/queue-config.ts';
import { SluiceError } from './errors.ts';
import { bridgesConfigSchema } from './schema/bridge-config.ts';
import { pushConsumersConfigSchema } from './schema/push-config.ts';
import { amqpConfigSchema } from './protocols/amqp/config.ts';
import { mqttConfigSchema } from './protocols/mqtt/config.ts';
import { defaultDataDir } from './resources.ts';

/** The per-user app-data directory (core/resources.ts knows every platform's). */
export { defaultDataDir };

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const dayMs = 24 * 60 * 60 * 1000;

/** The HTTP API listener. */
export const httpConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (tests). */
  port: z.number().int().min(0).max(65_535).default(8080),
  /** Largest request body; room for a max-size message in base64 by default. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(32 * MiB),
  /** Server-sent events (`GET /api/v1/events`). */
  events: z
    .strictObject({
      /** A `: ping` comment is sent this often on an idle stream. */
      heartbeatMs: z.number().int().positive().default(15_000),
      /** Bytes buffered for one slow client before its events are dropped (and counted). */
      maxBufferedBytes: z.number().int().positive().default(MiB),
    })
    .prefault({}),
});

/** Users, roles, ACL, tokens, brute-force slowdown and audit (docs/security.md). */
export const securityConfigSchema = z.strictObject({
  /** Let clients without credentials in, as anonymous with `anonymousRoles`. Off unless switched on. */
  anonymous: z.boolean().default(false),
  /** Roles anonymous clients get when `anonymous` is on (default: admin — a lab broker with no security). */
  anonymousRoles: z.array(z.string().min(1)).default(['admin']),
  /**
   * First start with no users: `generate-admin` creates `admin` with a random password, printed
   * once and written to `<dataDir>/initial-admin-password` (mode 0600); `setup` waits for the
   * UI's first-run page (the unauthenticated `auth.setup` operation, open only while no user exists).
   */
  firstRun: z.enum(['generate-admin', 'setup']).default('generate-admin'),
  /** Lifetime of bearer tokens from login. */
  tokenTtlMs: z
    .number()
    .int()
    .positive()
    .default(12 * 60 * 60 * 1000),
  /** Failed logins: free attempts, then an exponential delay per user and per address. */
  bruteForce: z
    .strictObject({
      freeAttempts: z.number().int().min(0).default(3),
      baseDelayMs: z.number().int().min(0).default(500),
      maxDelayMs: z.number().int().min(0).default(30_000),
      forgetAfterMs: z
        .number()
        .int()
        .positive()
        .default(15 * 60 * 1000),
    })
    .prefault({}),
  /** Audit records kept (oldest pruned). */
  auditMaxRecords: z.number().int().positive().default(100_000),
  /** Durable `$share` queues one user may create (they outlive the connection; docs/security.md). */
  maxSharedQueuesPerUser: z.number().int().positive().default(100),
});

/** One certificate for every TLS listener (HTTP, MQTT, AMQP); PEM text or a path to a PEM file. */
export const tlsConfigSchema = z.strictObject({
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** CA bundle for client certificates (optional). */
  ca: z.string().min(1).optional(),
});

/** The broker's whole configuration. */
export const configSchema = z.strictObject({
  /** Where the database lives. */
  dataDir: z
    .string()
    .min(1)
    .default(() => defaultDataDir()),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  http: httpConfigSchema.prefault({}),
  /** Users, roles, ACL, tokens, audit; see docs/security.md. */
  security: securityConfigSchema.prefault({}),
  /** Shared TLS material: HTTP becomes HTTPS, MQTT's TLS listener starts (AMQP: amqps) when set. */
  tls: tlsConfigSchema.prefault({}),
  /** The MQTT listener (TCP, WebSocket, TLS); see docs/mqtt.md. */
  mqtt: mqttConfigSchema.prefault({}),
  /** The AMQP 1.0 listener (TCP, TLS); see docs/amqp.md. */
  amqp: amqpConfigSchema.prefault({}),
  /** Store-and-forward bridges to upstream brokers; see docs/bridges.md. */
  bridges: bridgesConfigSchema,
  /** HTTP push consumers: queues delivering to REST endpoints; see docs/push.md. */
  push: pushConsumersConfigSchema,
  limits: z
    .strictObject({
      /** Largest message accepted: payload + topic + properties. */
      maxMessageBytes: z
        .number()
        .int()
        .positive()
        .default(16 * MiB),
    })
    .prefault({}),
  retention: z
    .strictObject({
      /** Messages older than this leave the replay log; null keeps them by age forever. */
      maxAgeMs: z
        .number()
        .int()
        .positive()
        .nullable()
        .default(7 * dayMs),
      maxLogBytes: z
        .number()
        .int()
        .positive()
        .default(2 * GiB),
      intervalMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  /** Record each message's journey: deliveries, outcomes, DMQ, replay copies (docs/journey.md). */
  journey: z.boolean().default(true),
  /** How often ready entries are checked for expired TTLs. */
  expiryIntervalMs: z.number().int().positive().default(1000),
  /** Queues declared here exist after startup, with this configuration. */
  queues: z
    .array(queueConfigSchema.extend({ name: queueNameSchema }).strict())
    .default([])
    .superRefine((queues, ctx) => {
      const seen = new Set<string>();
      queues.forEach((queue, index) => {
        if (seen.has(queue.name))
          ctx.addIssue({ code: 'custom', message: `queue "${queue.name}" is declared twice`, path: [index, 'name'] });
        seen.add(queue.name);
      });
    }),
});

/** The configuration with every default filled in. */
export type SluiceConfig = Readonly<z.infer<typeof configSchema>>;
/** Configuration as written by a user: any subset, nested. */
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables and the field each sets. */
export const environmentVariables: Readonly<Record<string, readonly string[]>> = {
  SLUICE_DATA_DIR: ['dataDir'],
  SLUICE_LOG_LEVEL: ['logLevel'],
  SLUICE_HTTP_HOST: ['http', 'host'],
  SLUICE_MQTT_PORT: ['mqtt', 'tcp', 'port'],
  SLUICE_MQTT_WS_PORT: ['mqtt', 'ws', 'port'],
  SLUICE_MQTT_HOST: ['mqtt', 'tcp', 'host'],
  SLUICE_AMQP_PORT: ['amqp', 'port'],
  SLUICE_AMQP_HOST: ['amqp', 'host'],
  SLUICE_HTTP_PORT: ['http', 'port'],
  SLUICE_TLS_CERT: ['tls', 'cert'],
  SLUICE_TLS_KEY: ['tls', 'key'],
};

/** Where configuration comes from; each later source wins. */
export interface ConfigSources {
  /** A JSON file; defaults to env SLUICE_CONFIG. */
  readonly file?: string;
  /** Environment (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** CLI flags, already shaped like the config. */
  readonly flags?: ConfigInput;
  /** The host's own defaults, below the file, environment and flags (the desktop app: first-run setup). */
  readonly defaults?: ConfigInput;
}

type Layer = {
  readonly name: string;
  readonly values: Record<string, unknown>;
  readonly origin: (path: string[]) => string;
};

/** Loads, merges and validates the configuration. */
export function loadConfig(sources: ConfigSources = {}): SluiceConfig {
  const env = sources.env ?? process.env;
  const file = sources.file ?? (env.SLUICE_CONFIG || undefined);
  const layers: Layer[] = [];
  if (file !== undefined) layers.push({ name: file, values: readConfigFile(file), origin: () => `in ${file}` });
  const fromEnv = environmentLayer(env);
  layers.push({ name: 'environment', values: fromEnv.values, origin: (path) => `from ${fromEnv.variableFor(path)}` });
  layers.push({
    name: 'flags',
    values: (sources.flags ?? {}) as Record<string, unknown>,
    origin: () => 'from the command line',
  });

  // The default data directory follows the environment given, not necessarily process.env.
  const defaults = deepMerge(
    { dataDir: defaultDataDir(process.platform, env) },
    (sources.defaults ?? {}) as Record<string, unknown>,
  );
  const merged = layers.reduce<Record<string, unknown>>((into, layer) => deepMerge(into, layer.values), defaults);
  const parsed = configSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues
    .map((issue) => {
      const path = issue.path.map(String);
      // Name the source that supplied the offending value: the last layer that set it.
      const valuePath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] ?? ''] : path;
      const source = [...layers].reverse().find((layer) => hasPath(layer.values, valuePath));
      const where = path.length > 0 ? path.join('.') : 'config';
      return `${where}: ${issue.message}${source ? ` (${source.origin(path)})` : ''}`;
    })
    .join('; ');
  throw new SluiceError('invalid-config', detail, file !== undefined ? { file } : undefined);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SluiceError('invalid-config', `Cannot read config file ${file}: ${(error as Error).message}`, { file });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SluiceError('invalid-config', `${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SluiceError('invalid-config', `${file} must hold a JSON object`, { file });
  return value as Record<string, unknown>;
}

/** Environment variables as a config-shaped object; numbers are converted, the schema judges the rest. */
function environmentLayer(env: NodeJS.ProcessEnv) {
  const values: Record<string, unknown> = {};
  const variables = new Map<string, string>();
  for (const [variable, path] of Object.entries(environmentVariables)) {
    const raw = env[variable];
    if (raw === undefined || raw === '') continue;
    setPath(values, path, /^\d+$/.test(raw) ? Number(raw) : raw);
    variables.set(path.join('.'), variable);
  }
  return { values, variableFor: (path: string[]) => variables.get(path.join('.')) ?? 'the environment' };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays included) is replaced. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const result = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return result;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function hasPath(values: unknown, path: readonly string[]): boolean {
  let node = values;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return node !== undefined;
}
