import { z } from 'zod';
import { topicFilterSchema } from './queue-config.ts';
import { SluiceError } from '../errors.ts';

// Pure schema module (no Node APIs): the broker config, the API contract and the UI can share it.
// docs/bridges.md explains every field with examples.

/** Header naming the Sluice broker that first forwarded a message upstream (loop prevention). */
export const originHeader = 'sluice-origin';
/** Header counting how many bridges a message has crossed. */
export const hopsHeader = 'sluice-hops';
/** Header set on messages a bridge brought in, naming that bridge; it never sends them back out. */
export const bridgeHeader = 'sluice-bridge';

/** Bridge names: they also name the engine queue `bridge/<name>`, so the same characters. */
export const bridgeNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const topicFilter = topicFilterSchema;

/**
 * Which topics cross the bridge and how their names change. Outbound (`out.topics`) the filter is
 * on local topics and `localPrefix` is replaced by `remotePrefix`; inbound (`in.topics`) the filter
 * is on upstream topics and `remotePrefix` is replaced by `localPrefix`.
 */
export const topicRuleSchema = z.strictObject({
  filter: topicFilter.meta({ description: 'Topic filter (MQTT wildcards) selecting what crosses' }),
  localPrefix: z.string().default('').meta({ description: 'Topic prefix on the Sluice side' }),
  remotePrefix: z.string().default('').meta({ description: 'Topic prefix on the upstream side' }),
});

/** An MQTT 3.1.1 or 5 upstream broker. */
export const mqttUpstreamSchema = z.strictObject({
  protocol: z.literal('mqtt'),
  /** mqtt://, mqtts://, ws:// or wss:// with host and port. */
  url: z
    .string()
    .regex(/^(mqtts?|wss?):\/\/[^/\s]+/, 'must be mqtt://, mqtts://, ws:// or wss:// with a host')
    .meta({ description: 'Upstream URL: mqtt://, mqtts://, ws:// or wss://' }),
  /** 5 carries headers as user properties and supports no-local; 4 is MQTT 3.1.1 (topic and payload only). */
  protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
  /** Stable client id, so the upstream keeps the inbound session across reconnects. Default: sluice-<brokerId>-<name>. */
  clientId: z.string().min(1).max(65_535).optional(),
  keepaliveSeconds: z.number().int().min(0).max(65_535).default(30),
});

/** An AMQP 1.0 upstream (RabbitMQ with AMQP 1.0, ActiveMQ Artemis, Qpid, Azure Service Bus…). */
export const amqpUpstreamSchema = z.strictObject({
  protocol: z.literal('amqp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535).default(5672),
  /** The `hostname` of the AMQP open frame (RabbitMQ: `vhost:<name>`). */
  virtualHost: z.string().min(1).optional(),
  /**
   * Target address of outbound messages; `{topic}` is replaced by the mapped topic (one link per
   * address). The mapped topic is always the message's `subject` too.
   */
  targetAddress: z.string().min(1).default('/exchange/amq.topic'),
  /** Source addresses inbound messages are received from (durable queues on the upstream). */
  sourceAddresses: z.array(z.string().min(1)).default([]),
  /** Level separator in upstream subjects: '.' turns `a/b` into RabbitMQ's routing key `a.b` and back. */
  subjectSeparator: z.enum(['/', '.']).default('/'),
  /** Inbound messages without a subject are published to this local topic. */
  defaultTopic: z.string().min(1).default('bridge/unnamed'),
});

/** Kafka topic names: at most 249 of these characters (Kafka's own rule). */
export const kafkaTopicPattern = /^[A-Za-z0-9._-]{1,249}$/;

/** Where an outbound Kafka message's key comes from; the key picks the partition, and order holds per key. */
export const kafkaKeySchema = z.discriminatedUnion('from', [
  /** The whole Sluice topic: order holds per Sluice topic (the default). */
  z.strictObject({ from: z.literal('topic') }),
  /** One level of the Sluice topic, 1-based (`plant/7/line/3`, level 2 → `7`). */
  z.strictObject({ from: z.literal('level'), level: z.number().int().min(1).max(64) }),
  /** A message header (MQTT 5 user property, AMQP application property, HTTP Sluice-* header). */
  z.strictObject({ from: z.literal('header'), header: z.string().min(1) }),
  /** No key: Kafka spreads messages over partitions and keeps no order between them. */
  z.strictObject({ from: z.literal('none') }),
]);

/**
 * One outbound Kafka mapping: Sluice topics matching `filter` go to the Kafka topic named by
 * `kafkaTopic`, a template where `{1}`, `{2}`… are levels of the Sluice topic and `{topic}` is
 * the whole topic with `/` turned into `.` (characters Kafka does not allow become `_`).
 */
export const kafkaTopicRuleSchema = z.strictObject({
  filter: topicFilter.meta({ description: 'Sluice topic filter (MQTT wildcards)' }),
  kafkaTopic: z
    .string()
    .min(1)
    .regex(/^([A-Za-z0-9._-]|\{(topic|[1-9][0-9]?)\})+$/, 'letters, digits, . _ - and {topic} or {1}…{99}')
    .meta({ description: 'Kafka topic template, e.g. plant.{2}.{3}' }),
  key: kafkaKeySchema.prefault({ from: 'topic' }),
});

/** A Kafka cluster (Apache Kafka, Redpanda, Confluent, MSK…), reached with kafkajs. */
export const kafkaUpstreamSchema = z.strictObject({
  protocol: z.literal('kafka'),
  /** Bootstrap brokers, `host:port`; the client finds the rest of the cluster from them. */
  brokers: z
    .array(z.string().regex(/^[^\s:/]+:[0-9]{1,5}$/, 'must be host:port'))
    .min(1)
    .meta({ description: 'Bootstrap brokers, host:port' }),
  /** Client id the cluster sees (quotas, logs). Default: sluice-<brokerId>-<name>. */
  clientId: z.string().min(1).max(255).optional(),
  /** SASL mechanism; user name and password come from the bridge's `credentials`. */
  sasl: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  /** Idempotent producer (no duplicates from the client's own retries, order kept per partition). */
  idempotent: z.boolean().default(true),
  /** Outbound: Sluice topic → Kafka topic and key; the first rule whose filter matches wins. */
  topics: z.array(kafkaTopicRuleSchema).max(1000).default([]),
  /** Inbound: the Kafka topics the consumer group reads. */
  consumeTopics: z.array(z.string().regex(kafkaTopicPattern, 'not a Kafka topic name')).max(1000).default([]),
  /** Consumer group id; offsets are kept in Kafka under it. Default: sluice-<name>. */
  groupId: z.string().min(1).max(255).optional(),
  /** A new group starts at the oldest message (true) or at new messages only (false). */
  fromBeginning: z.boolean().default(true),
  /**
   * Sluice topic for inbound messages without a `sluice-topic` header: `{topic}` is the Kafka
   * topic with `.` turned into `/`, `{key}` the message key.
   */
  localTopic: z.string().min(1).default('kafka/{topic}'),
});

/** The engine queue that holds an outbound bridge's backlog while the upstream is away. */
const backlogQueueSchema = z.strictObject({
  maxDepthMessages: z.number().int().positive().default(1_000_000),
  maxDepthBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024 * 1024),
  /** reject-publisher tells publishers the backlog is full; nothing is lost silently. */
  overflow: z.enum(['reject-publisher', 'drop-oldest', 'dead-letter']).default('reject-publisher'),
  /** Only crashes count as attempts (an outage releases without counting), so this is effectively never. */
  maxRedelivery: z.number().int().min(0).max(1_000_000).default(1_000_000),
});

/** One bridge to one upstream. */
export const bridgeConfigSchema = z
  .strictObject({
    name: z.string().regex(bridgeNamePattern, 'must be 1–64 of A–Z a–z 0–9 . _ - starting with a letter or digit'),
    enabled: z.boolean().default(true),
    upstream: z.discriminatedUnion('protocol', [mqttUpstreamSchema, amqpUpstreamSchema, kafkaUpstreamSchema]),
    credentials: z
      .strictObject({ username: z.string().min(1), password: z.string().default('') })
      .optional()
      .meta({ description: 'User name and password for the upstream (MQTT CONNECT / SASL PLAIN)' }),
    tls: z
      .strictObject({
        /** For AMQP and Kafka: connect with TLS (for MQTT the URL scheme decides). */
        enabled: z.boolean().default(false),
        /** PEM text, or a path to a PEM file. */
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        rejectUnauthorized: z.boolean().default(true),
        servername: z.string().optional(),
      })
      .prefault({}),
    /** out: Sluice → upstream; in: upstream → Sluice; both. */
    direction: z.enum(['out', 'in', 'both']).default('out'),
    out: z
      .strictObject({
        topics: z.array(topicRuleSchema).max(1000).default([]),
        /** MQTT QoS upstream; 1 and 2 remove a message from the backlog only after PUBACK / PUBCOMP. */
        qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
        /** Messages sent and not yet acknowledged by the upstream at once. */
        window: z.number().int().min(1).max(1000).default(32),
        /** A message that has crossed this many bridges is not forwarded again. */
        maxHops: z.number().int().min(1).max(255).default(8),
        queue: backlogQueueSchema.prefault({}),
      })
      .prefault({}),
    in: z
      .strictObject({
        topics: z.array(topicRuleSchema).max(1000).default([]),
        /** MQTT subscription QoS; 1 and 2 acknowledge upstream only after the engine committed. */
        qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
        /** AMQP link credit: messages received ahead of their commit. */
        window: z.number().int().min(1).max(1000).default(32),
      })
      .prefault({}),
    /** Token bucket, per direction; null means unlimited. */
    rateLimit: z
      .strictObject({
        messagesPerSecond: z.number().positive().nullable().default(null),
        burst: z.number().int().min(1).default(100),
      })
      .prefault({}),
    /** Exponential backoff between connection attempts, jittered, retried forever. */
    reconnect: z
      .strictObject({
        initialDelayMs: z.number().int().min(10).default(500),
        maxDelayMs: z.number().int().min(10).default(30_000),
      })
      .prefault({}),
  })
  .superRefine((bridge, ctx) => {
    const issue = (message: string, path: (string | number)[]) => ctx.addIssue({ code: 'custom', message, path });
    const outbound = bridge.direction !== 'in';
    const inbound = bridge.direction !== 'out';
    if (outbound && bridge.out.topics.length === 0)
      issue(`direction ${bridge.direction} needs at least one out.topics rule`, ['out', 'topics']);
    if (inbound && bridge.upstream.protocol === 'mqtt' && bridge.in.topics.length === 0)
      issue(`direction ${bridge.direction} needs at least one in.topics rule`, ['in', 'topics']);
    if (inbound && bridge.upstream.protocol === 'amqp' && bridge.upstream.sourceAddresses.length === 0)
      issue(`direction ${bridge.direction} needs at least one upstream.sourceAddresses entry`, [
        'upstream',
        'sourceAddresses',
      ]);
    if (bridge.upstream.protocol === 'kafka') {
      if (inbound && bridge.upstream.consumeTopics.length === 0)
        issue(`direction ${bridge.direction} needs at least one upstream.consumeTopics entry`, [
          'upstream',
          'consumeTopics',
        ]);
      if (bridge.upstream.sasl !== undefined && bridge.credentials === undefined)
        issue(`SASL ${bridge.upstream.sasl} needs credentials (username and password)`, ['credentials']);
    }
    bridge.out.topics.forEach((rule, index) => {
      if (!withinPrefix(rule.filter, rule.localPrefix))
        issue(`filter "${rule.filter}" must lie under localPrefix "${rule.localPrefix}"`, ['out', 'topics', index]);
    });
    bridge.in.topics.forEach((rule, index) => {
      if (!withinPrefix(rule.filter, rule.remotePrefix))
        issue(`filter "${rule.filter}" must lie under remotePrefix "${rule.remotePrefix}"`, ['in', 'topics', index]);
    });
    if (bridge.reconnect.maxDelayMs < bridge.reconnect.initialDelayMs)
      issue('maxDelayMs must be at least initialDelayMs', ['reconnect', 'maxDelayMs']);
    // MQTT 3.1.1 carries no headers and has no no-local: a bridge could not recognise its own
    // messages coming back, so both directions must use disjoint upstream topics.
    if (bridge.upstream.protocol === 'mqtt' && bridge.upstream.protocolVersion === 4 && bridge.direction === 'both')
      for (const out of bridge.out.topics)
        for (const [index, rule] of bridge.in.topics.entries()) {
          const sent = remoteImage(out);
          if (filtersOverlap(sent, rule.filter))
            issue(
              `MQTT 3.1.1 cannot mark forwarded messages, so in filter "${rule.filter}" must not overlap the ` +
                `upstream topics sent out ("${sent}"); use protocolVersion 5 or disjoint prefixes`,
              ['in', 'topics', index],
            );
        }
  });

/** Every bridge of a broker, names unique. */
export const bridgesConfigSchema = z
  .array(bridgeConfigSchema)
  .max(100)
  .default([])
  .superRefine((bridges, ctx) => {
    const seen = new Set<string>();
    bridges.forEach((bridge, index) => {
      if (seen.has(bridge.name))
        ctx.addIssue({ code: 'custom', message: `bridge "${bridge.name}" is declared twice`, path: [index, 'name'] });
      seen.add(bridge.name);
    });
  });

/** A bridge's configuration, every default filled in. */
export type BridgeConfig = Readonly<z.infer<typeof bridgeConfigSchema>>;
/** What a user writes for one bridge. */
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;
/** One topic rule, defaults filled in. */
export type TopicRule = Readonly<z.infer<typeof topicRuleSchema>>;
/** The MQTT upstream section. */
export type MqttUpstreamConfig = Readonly<z.infer<typeof mqttUpstreamSchema>>;
/** The AMQP upstream section. */
export type AmqpUpstreamConfig = Readonly<z.infer<typeof amqpUpstreamSchema>>;
/** The Kafka upstream section. */
export type KafkaUpstreamConfig = Readonly<z.infer<typeof kafkaUpstreamSchema>>;
/** One outbound Kafka topic rule, defaults filled in. */
export type KafkaTopicRule = Readonly<z.infer<typeof kafkaTopicRuleSchema>>;

/** Fills a Kafka topic template from a Sluice topic (`{1}`… levels, `{topic}` the whole topic with dots). */
export function kafkaTopicFor(template: string, topic: string): string {
  const levels = topic.split('/');
  const filled = template.replace(/\{(topic|[0-9]+)\}/g, (_, name: string) =>
    name === 'topic' ? levels.join('.') : (levels[Number(name) - 1] ?? ''),
  );
  // Kafka allows [A-Za-z0-9._-] only, at most 249 characters.
  return filled.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 249) || '_';
}

/** Parses one bridge's config, throwing invalid-config with every problem named. */
export function parseBridgeConfig(input: BridgeConfigInput): BridgeConfig {
  const parsed = bridgeConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${['bridge', ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new SluiceError('invalid-config', detail.join('; '));
}

/** Rewrites `topic` from one prefix to another (`from` is known to fit: the rule's filter lies under it). */
export function rewriteTopic(topic: string, from: string, to: string): string {
  if (topic.startsWith(from)) return to + topic.slice(from.length);
  // `a/#` also matches `a` itself [MQTT-4.7.1-2]: map the parent level to the parent level.
  if (from.endsWith('/') && topic === from.slice(0, -1)) return to.endsWith('/') ? to.slice(0, -1) : to;
  return to + topic;
}

/** The upstream topic filter that an outbound rule's messages land under. */
export function remoteImage(rule: TopicRule): string {
  return rewriteTopic(rule.filter, rule.localPrefix, rule.remotePrefix);
}

/** True when some topic could match both filters. */
export function filtersOverlap(a: string, b: string): boolean {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; ; i++) {
    const l = left[i];
    const r = right[i];
    if (l === '#' || r === '#') return true;
    if (l === undefined || r === undefined) return l === r;
    if (l !== '+' && r !== '+' && l !== r) return false;
  }
}

function withinPrefix(filter: string, prefix: string): boolean {
  if (prefix === '') return true;
  return filter.startsWith(prefix) || (prefix.endsWith('/') && filter === prefix.slice(0, -1));
}
