import { z } from 'zod';
import { queueSettingsSchema } from '../../schema/queue-config.ts';

/** The AMQP 1.0 listener's configuration (one section of the broker's config schema). */
export const amqpConfigSchema = z.object({
  /** Off switch for the whole listener. */
  enabled: z.boolean().default(true),
  /** Plain AMQP over TCP. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(5672),
  /** AMQP over TLS (amqps); started only when both a certificate and a key are configured. */
  tls: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(5671),
      /** PEM text, or a path to a PEM file. */
      cert: z.string().optional(),
      key: z.string().optional(),
      ca: z.string().optional(),
    })
    .prefault({}),
  /** Open connections at most; one more is closed with amqp:resource-limit-exceeded. */
  maxConnections: z.number().int().positive().default(1000),
  /** Largest frame accepted and advertised in OPEN (AMQP 1.0 §2.7.1: at least 512). */
  maxFrameSize: z
    .number()
    .int()
    .min(512)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** Sessions per connection at most (OPEN channel-max + 1). */
  maxSessionsPerConnection: z.number().int().min(1).max(65_536).default(64),
  /** Links per connection at most; one more is refused with amqp:resource-limit-exceeded. */
  maxLinksPerConnection: z.number().int().min(1).default(1000),
  /** A connection silent for longer is closed (OPEN idle-time-out); 0 disables. */
  idleTimeoutMs: z.number().int().min(0).default(60_000),
  /** Link credit granted to each publisher: its unsettled transfers at most. */
  publisherCredit: z.number().int().min(1).max(100_000).default(500),
  /** Live messages buffered per non-durable topic receiver without credit; beyond this they are dropped and counted. */
  maxBufferedLivePerLink: z.number().int().min(1).default(10_000),
  /** Attaching to an unknown queue creates it instead of refusing with amqp:not-found. */
  autoCreateQueues: z.boolean().default(false),
  /** SASL ANONYMOUS (and no SASL at all) accepted; otherwise SASL PLAIN is required. */
  allowAnonymous: z.boolean().default(false),
  /** Settings of queues created by autoCreateQueues. */
  autoCreatedQueue: queueSettingsSchema.default({}),
  /** Settings of the engine queue behind each durable subscription (`amqp-sub/<container-id>/<link-name>`). */
  durableSubscriptionQueue: queueSettingsSchema.default({}),
});

/** The AMQP config, defaults filled in. */
export type AmqpConfig = Readonly<z.infer<typeof amqpConfigSchema>>;
/** What a caller may give. */
export type AmqpConfigInput = z.input<typeof amqpConfigSchema>;
