import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaConfig,
  type KafkaMessage,
  type Message,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import { topicMatches } from '../schema/topic.ts';
import {
  kafkaTopicFor,
  type BridgeConfig,
  type KafkaTopicRule,
  type KafkaUpstreamConfig,
} from '../schema/bridge-config.ts';
import {
  UpstreamError,
  pem,
  toUpstreamError,
  type InboundMessage,
  type OutboundMessage,
  type Upstream,
  type UpstreamContext,
  type UpstreamHandlers,
  type UpstreamSession,
} from './upstream.ts';

// The one boundary where kafkajs meets the bridge (STYLE.md §11). docs/bridges.md says why
// kafkajs and not @platformatic/kafka or @confluentinc/kafka-javascript.

/** Kafka headers that carry Sluice message fields; the rest of the headers cross as they are. */
export const kafkaHeaders = {
  /** The message's topic in Sluice (outbound), and the Sluice topic to publish on (inbound). */
  topic: 'sluice-topic',
  contentType: 'content-type',
  correlationId: 'correlation-id',
  replyTo: 'reply-to',
  /** Absolute expiry, ms since epoch. */
  expiresAt: 'sluice-expires-at',
} as const;

/** Set on inbound messages: where in Kafka the message came from (a consumer can drop repeats with them). */
export const kafkaSourceHeaders = {
  topic: 'kafka-topic',
  partition: 'kafka-partition',
  offset: 'kafka-offset',
} as const;

/** kafkajs error types that mean "not with these credentials / not allowed". */
const authErrorTypes = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
/** Kafka refuses these for the message itself: retrying it cannot help. */
const messageErrorTypes = new Set(['MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'RECORD_LIST_TOO_LARGE']);
/** While idle, the cluster is asked for metadata this often, so a lost cluster shows in the status. */
const healthCheckMs = 5000;

/** A Kafka cluster reached with kafkajs. */
export function kafkaUpstream(context: UpstreamContext): Upstream {
  const upstream = context.config.upstream as KafkaUpstreamConfig;
  const scheme = context.config.tls.enabled ? 'kafka+ssl' : 'kafka';
  return {
    address: `${scheme}://${upstream.brokers.join(',')}`,
    connect: (handlers) => connectKafka(upstream, context, handlers),
  };
}

/** The kafkajs client options for a bridge: TLS, SASL, and no retry loops of its own. */
export function kafkaClientConfig(upstream: KafkaUpstreamConfig, { config, brokerId }: UpstreamContext): KafkaConfig {
  const { tls, credentials } = config;
  return {
    clientId: upstream.clientId ?? `sluice-${brokerId.slice(0, 8)}-${config.name}`,
    brokers: [...upstream.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 15_000,
    // The bridge owns reconnection and backoff: the client gives up quickly and says why.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    ...(tls.enabled && {
      ssl: {
        ca: pem(tls.ca),
        cert: pem(tls.cert),
        key: pem(tls.key),
        rejectUnauthorized: tls.rejectUnauthorized,
        ...(tls.servername !== undefined && { servername: tls.servername }),
      },
    }),
    ...(upstream.sasl !== undefined &&
      credentials && {
        sasl: {
          mechanism: upstream.sasl,
          username: credentials.username,
          password: credentials.password,
        } as SASLOptions,
      }),
  };
}

/** An UpstreamError from whatever kafkajs threw, its kind decided by the Kafka error type. */
export function classifyKafkaError(error: unknown): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const chain: Array<{ name?: string; type?: string; message?: string; cause?: unknown }> = [];
  for (let e = error as (typeof chain)[number] | undefined; e && chain.length < 5; e = e.cause as typeof e)
    chain.push(e);
  const text = chain.map((e) => e.message).find((m) => m) ?? String(error);
  const types = chain.map((e) => e.type).filter((t): t is string => typeof t === 'string');
  const names = chain.map((e) => e.name);
  if (types.some((t) => authErrorTypes.has(t)) || names.includes('KafkaJSSASLAuthenticationError'))
    return new UpstreamError('auth', `Kafka refused the credentials or the authorization: ${text}`);
  if (types.some((t) => messageErrorTypes.has(t))) return new UpstreamError('refused-message', `Kafka: ${text}`);
  if (types.includes('UNKNOWN_TOPIC_OR_PARTITION') || names.includes('KafkaJSTopicMetadataNotLoaded'))
    return new UpstreamError('protocol', `Kafka topic unknown: ${text}`);
  // e.g. SASL asked of a listener without it: the cluster cannot talk the way the config says.
  if (names.includes('KafkaJSServerDoesNotSupportApiKey'))
    return new UpstreamError('protocol', `Kafka does not support what the bridge asked (SASL?): ${text}`);
  if (types.length > 0 && !names.some((n) => n === 'KafkaJSConnectionError' || n === 'KafkaJSRequestTimeoutError'))
    return new UpstreamError('protocol', `Kafka: ${text}`);
  return toUpstreamError(error, 'network');
}

async function connectKafka(
  upstream: KafkaUpstreamConfig,
  context: UpstreamContext,
  handlers: UpstreamHandlers,
): Promise<UpstreamSession> {
  const { config } = context;
  const kafka = new Kafka(kafkaClientConfig(upstream, context));
  const outbound = config.direction !== 'in';
  const inbound = config.direction !== 'out';
  const admin = kafka.admin({ retry: { retries: 0 } });
  // Order per partition: one produce request at a time (kafkajs requires it for idempotence too).
  const producer = outbound
    ? kafka.producer({ idempotent: upstream.idempotent, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    : null;
  const consumer = inbound
    ? kafka.consumer({
        groupId: upstream.groupId ?? `sluice-${config.name}`,
        allowAutoTopicCreation: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        maxWaitTimeInMs: 500,
        // A failure ends the session; the bridge reconnects with its own backoff.
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000, restartOnFailure: async () => false },
      })
    : null;
  const session = new KafkaSession(config, upstream, handlers, admin, producer, consumer);
  try {
    await admin.connect();
    if (producer) await producer.connect();
    if (consumer) {
      await consumer.connect();
      await consumer.subscribe({ topics: [...upstream.consumeTopics], fromBeginning: upstream.fromBeginning });
    }
    if (outbound) {
      // An unknown topic is a configuration problem to show now, not a send that fails later.
      const fixed = upstream.topics.map((rule) => rule.kafkaTopic).filter((topic) => !topic.includes('{'));
      if (fixed.length > 0) await admin.fetchTopicMetadata({ topics: fixed });
    }
  } catch (error) {
    await session.close();
    throw classifyKafkaError(error);
  }
  session.start();
  return session;
}

interface PendingSend {
  readonly topic: string;
  readonly message: Message;
  readonly resolve: () => void;
  readonly reject: (error: UpstreamError) => void;
}

class KafkaSession implements UpstreamSession {
  readonly window: number;
  private pending: PendingSend[] = [];
  private producing = false;
  private closed = false;
  private lastActivity = Date.now();
  private healthTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: BridgeConfig,
    private readonly upstream: KafkaUpstreamConfig,
    private readonly handlers: UpstreamHandlers,
    private readonly admin: Admin,
    private readonly producer: Producer | null,
    private readonly consumer: Consumer | null,
  ) {
    this.window = config.out.window;
  }

  /** Starts consuming and watching the connection. */
  start(): void {
    const { consumer } = this;
    if (consumer) {
      consumer.on(consumer.events.CRASH, (event) => this.fail(classifyKafkaError(event.payload.error)));
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: (payload) => this.consumeBatch(payload),
        })
        .catch((error: unknown) => this.fail(classifyKafkaError(error)));
    }
    if (this.producer) this.healthTimer = setInterval(() => void this.checkHealth(), healthCheckMs);
  }

  // ── outbound ────────────────────────────────────────────────────────────────────────
  send(message: OutboundMessage): Promise<void> {
    if (this.closed || !this.producer) return Promise.reject(new UpstreamError('network', 'connection closed'));
    const rule = this.upstream.topics.find((candidate) => topicMatches(candidate.filter, message.localTopic));
    const topic = kafkaTopicFor(rule?.kafkaTopic ?? '{topic}', message.localTopic);
    const kafkaMessage: Message = {
      key: keyFor(rule?.key ?? { from: 'topic' }, message),
      value: message.payload,
      headers: outboundHeaders(message),
    };
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ topic, message: kafkaMessage, resolve, reject });
      this.pump();
    });
  }

  /** One produce request at a time; what arrives meanwhile goes in the next one, in order. */
  private pump(): void {
    if (this.producing || this.closed || this.pending.length === 0) return;
    this.producing = true;
    // One tick's sends share one request.
    setImmediate(() => {
      const batch = this.pending.splice(0);
      this.produce(batch)
        .catch((error: unknown) => {
          const failure = classifyKafkaError(error);
          // Everything after a failed request goes back too: order is kept by resending it all.
          for (const entry of [...batch, ...this.pending.splice(0)]) entry.reject(failure);
        })
        .finally(() => {
          this.producing = false;
          this.pump();
        });
    });
  }

  private async produce(batch: PendingSend[]): Promise<void> {
    if (this.closed) throw new UpstreamError('network', 'connection closed');
    try {
      await this.sendBatch(batch);
    } catch (error) {
      const failure = classifyKafkaError(error);
      if (failure.kind !== 'refused-message') throw failure;
      if (batch.length === 1) return batch[0]!.reject(failure);
      // Kafka refused the request for one of its messages: send them one by one to find it.
      for (const [index, entry] of batch.entries())
        try {
          await this.sendBatch([entry]);
        } catch (single) {
          const singleFailure = classifyKafkaError(single);
          if (singleFailure.kind === 'refused-message') entry.reject(singleFailure);
          else {
            for (const rest of batch.slice(index)) rest.reject(singleFailure);
            throw singleFailure;
          }
        }
      return;
    }
  }

  /** Produces with acks=all and resolves the senders once Kafka acknowledged every message. */
  private async sendBatch(batch: PendingSend[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const entry of batch) {
      const messages = byTopic.get(entry.topic) ?? [];
      messages.push(entry.message);
      byTopic.set(entry.topic, messages);
    }
    await this.producer!.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    this.lastActivity = Date.now();
    for (const entry of batch) entry.resolve();
  }

  private async checkHealth(): Promise<void> {
    if (this.closed || this.producing || Date.now() - this.lastActivity < healthCheckMs) return;
    try {
      await this.admin.describeCluster();
      this.lastActivity = Date.now();
    } catch (error) {
      this.fail(classifyKafkaError(error));
    }
  }

  // ── inbound ─────────────────────────────────────────────────────────────────────────
  /**
   * Publishes a fetched batch into Sluice, `in.window` messages at a time, and commits the
   * Kafka offset only after Sluice's commit: a crash on either side repeats, never loses.
   */
  private async consumeBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const size = this.config.in.window;
    for (let start = 0; start < batch.messages.length; start += size) {
      if (this.closed || !isRunning() || isStale()) return;
      const chunk = batch.messages.slice(start, start + size);
      const results = await Promise.allSettled(
        chunk.map((message) => this.handlers.onMessage(inboundMessage(this.upstream, topic, partition, message))),
      );
      const failed = results.findIndex(
        (result) => result.status === 'rejected' && toUpstreamError(result.reason, 'local').kind !== 'refused-message',
      );
      // Refused for good (counted by the bridge) is passed over; anything else stops before it.
      const done = failed === -1 ? chunk.length : failed;
      if (done > 0) {
        const last = chunk[done - 1]!.offset;
        await this.consumer!.commitOffsets([{ topic, partition, offset: (BigInt(last) + 1n).toString() }]);
        resolveOffset(last);
      }
      if (failed !== -1) {
        const reason = (results[failed] as PromiseRejectedResult).reason;
        this.fail(toUpstreamError(reason, 'local'));
        return;
      }
      await heartbeat();
    }
  }

  // ── end ─────────────────────────────────────────────────────────────────────────────
  private fail(error: UpstreamError): void {
    if (this.closed) return;
    void this.close().then(() => this.handlers.onClosed(error));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.healthTimer) clearInterval(this.healthTimer);
    const failure = new UpstreamError('network', 'connection closed by the bridge');
    for (const entry of this.pending.splice(0)) entry.reject(failure);
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect(), this.admin.disconnect()]);
  }
}

/** The Kafka key of an outbound message: it picks the partition, and order holds per key. */
export function keyFor(key: KafkaTopicRule['key'], message: OutboundMessage): string | null {
  switch (key.from) {
    case 'topic':
      return message.localTopic;
    case 'level':
      return message.localTopic.split('/')[key.level - 1] ?? null;
    case 'header':
      return message.headers[key.header] ?? null;
    case 'none':
      return null;
  }
}

function outboundHeaders(message: OutboundMessage): IHeaders {
  return {
    ...message.headers,
    [kafkaHeaders.topic]: message.localTopic,
    ...(message.contentType !== undefined && { [kafkaHeaders.contentType]: message.contentType }),
    ...(message.correlationId !== undefined && { [kafkaHeaders.correlationId]: message.correlationId }),
    ...(message.replyTo !== undefined && { [kafkaHeaders.replyTo]: message.replyTo }),
    ...(message.expiresAt !== null && { [kafkaHeaders.expiresAt]: String(message.expiresAt) }),
  };
}

/** A Kafka record as a Sluice message: headers back into fields, the topic from `sluice-topic` or the template. */
export function inboundMessage(
  upstream: KafkaUpstreamConfig,
  kafkaTopic: string,
  partition: number,
  message: KafkaMessage,
): InboundMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first.toString();
  }
  const take = (name: string): string | undefined => {
    const value = headers[name];
    delete headers[name];
    return value;
  };
  const sluiceTopic = take(kafkaHeaders.topic);
  const contentType = take(kafkaHeaders.contentType);
  const correlationId = take(kafkaHeaders.correlationId);
  const replyTo = take(kafkaHeaders.replyTo);
  const expiresAt = Number(take(kafkaHeaders.expiresAt));
  const key = message.key?.toString() ?? '';
  headers[kafkaSourceHeaders.topic] = kafkaTopic;
  headers[kafkaSourceHeaders.partition] = String(partition);
  headers[kafkaSourceHeaders.offset] = message.offset;
  const topic =
    sluiceTopic ??
    upstream.localTopic.replaceAll('{topic}', kafkaTopic.replaceAll('.', '/')).replaceAll('{key}', key || '_');
  return {
    topic,
    payload: message.value ?? Buffer.alloc(0),
    headers,
    ...(contentType !== undefined && { contentType }),
    ...(correlationId !== undefined && { correlationId }),
    ...(replyTo !== undefined && { replyTo }),
    ...(Number.isFinite(expiresAt) && expiresAt > 0 && { expiresAt }),
  };
}
