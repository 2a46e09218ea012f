/**
 * The Kafka bridge form: text fields → one entry of the config file's `bridges` array, checked
 * with the broker's own schema (core/schema/bridge-config.ts), so what the form accepts the broker
 * accepts. Bridges are declared in the config file (docs/bridges.md), so the form writes the JSON
 * to paste there; it does not start a bridge.
 */
import { bridgeConfigSchema, kafkaTopicFor, type BridgeConfigInput } from '../../../core/schema/bridge-config.ts';

/** The form as typed. */
export interface KafkaBridgeFields {
  readonly name: string;
  readonly direction: 'out' | 'in' | 'both';
  /** Bootstrap brokers, comma or line separated, host:port. */
  readonly brokers: string;
  readonly clientId: string;
  readonly sasl: '' | 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
  readonly tls: boolean;
  /** CA certificate: a PEM file path (or PEM text). */
  readonly ca: string;
  /** Outbound: Sluice topic filter → Kafka topic template. */
  readonly filter: string;
  readonly kafkaTopic: string;
  readonly keyFrom: 'topic' | 'level' | 'header' | 'none';
  /** The topic level (1-based) or header name the key comes from. */
  readonly keyOf: string;
  /** Inbound: Kafka topics, comma or line separated. */
  readonly consumeTopics: string;
  readonly groupId: string;
  /** Empty: unlimited. */
  readonly messagesPerSecond: string;
}

/** A new Kafka bridge's form: a work-order feed to analytics. */
export const newKafkaBridgeFields: KafkaBridgeFields = {
  name: 'analytics',
  direction: 'out',
  brokers: 'kafka.plant.local:9092',
  clientId: '',
  sasl: '',
  username: '',
  password: '',
  tls: false,
  ca: '',
  filter: 'plant/+/+/workorder',
  kafkaTopic: 'plant.{2}.workorders',
  keyFrom: 'level',
  keyOf: '3',
  consumeTopics: '',
  groupId: '',
  messagesPerSecond: '',
};

const list = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** The bridge entry the fields describe, as the config file wants it, or every problem the schema names. */
export function kafkaBridgeOf(
  fields: KafkaBridgeFields,
): { ok: true; config: BridgeConfigInput; json: string } | { ok: false; problems: string[] } {
  const outbound = fields.direction !== 'in';
  const inbound = fields.direction !== 'out';
  const key =
    fields.keyFrom === 'level'
      ? { from: 'level' as const, level: Number(fields.keyOf) }
      : fields.keyFrom === 'header'
        ? { from: 'header' as const, header: fields.keyOf.trim() }
        : { from: fields.keyFrom };
  const rate = fields.messagesPerSecond.trim();
  const config: BridgeConfigInput = {
    name: fields.name.trim(),
    direction: fields.direction,
    upstream: {
      protocol: 'kafka',
      brokers: list(fields.brokers),
      ...(fields.clientId.trim() && { clientId: fields.clientId.trim() }),
      ...(fields.sasl && { sasl: fields.sasl }),
      ...(outbound && { topics: [{ filter: fields.filter.trim(), kafkaTopic: fields.kafkaTopic.trim(), key }] }),
      ...(inbound && { consumeTopics: list(fields.consumeTopics) }),
      ...(inbound && fields.groupId.trim() && { groupId: fields.groupId.trim() }),
    },
    ...(fields.sasl && { credentials: { username: fields.username, password: fields.password } }),
    ...(fields.tls && { tls: { enabled: true, ...(fields.ca.trim() && { ca: fields.ca.trim() }) } }),
    ...(outbound && { out: { topics: [{ filter: fields.filter.trim() }] } }),
    ...(rate && { rateLimit: { messagesPerSecond: Number(rate) } }),
  };
  const parsed = bridgeConfigSchema.safeParse(config);
  if (!parsed.success)
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'bridge'}: ${issue.message}`),
    };
  return { ok: true, config, json: JSON.stringify(config, null, 2) };
}

/** Where an example Sluice topic would go: "plant/p1/line2/workorder → plant.p1.workorders". */
export function kafkaTopicExample(fields: Pick<KafkaBridgeFields, 'filter' | 'kafkaTopic'>): string {
  const example = fields.filter
    .split('/')
    .map((level, index) => (level === '+' ? `x${index + 1}` : level === '#' ? 'rest' : level))
    .join('/');
  return `${example} → ${kafkaTopicFor(fields.kafkaTopic || '{topic}', example)}`;
}
