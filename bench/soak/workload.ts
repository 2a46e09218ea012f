/**
 * The soak's plant: MQTT 3.1.1 and 5 publishers at QoS 0, 1 and 2 (persistent and clean
 * sessions), an AMQP 1.0 sender and an HTTP publisher; consumers over MQTT ($queue and a
 * persistent session), AMQP (rejecting a share on purpose), HTTP pull (stalls on request) and SSE.
 * Every client reconnects by itself after a broker kill, as real plant clients do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import rhea, { type Connection, type EventContext, type Message } from 'rhea';
import { createHttpClient, type HttpClient } from '../../core/api/client.ts';
import { soakPayload, type Ledger, type PublishProtocol, type Sink } from './ledger.ts';

/** Who the clients log in as (security is on, as shipped). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Something the soak runs and stops at the end. */
export interface Client {
  close(): Promise<void>;
}

function connectMqtt(url: string, credentials: Credentials, options: mqtt.IClientOptions): MqttClient {
  const client = mqtt.connect(url, { ...credentials, reconnectPeriod: 300, connectTimeout: 5000, ...options });
  client.on('error', () => {}); // refused while the broker restarts; it reconnects
  return client;
}

/** Paces a publisher: `perSecond` messages, sent every 100 ms while it may. */
function pace(perSecond: number, send: () => void, mayPublish: () => boolean): () => void {
  const perTick = Math.max(1, Math.round(perSecond / 10));
  const timer = setInterval(() => {
    for (let i = 0; i < perTick && mayPublish(); i++) send();
  }, 100);
  return () => clearInterval(timer);
}

/** An MQTT publisher; QoS 1 and 2 publishes are owed once the broker acknowledged them. */
export function mqttPublisher(
  ledger: Ledger,
  options: {
    readonly name: string;
    readonly url: string;
    readonly credentials: Credentials;
    readonly version: 4 | 5;
    readonly qos: 0 | 1 | 2;
    readonly clean: boolean;
    readonly topic: string;
    readonly perSecond: number;
  },
): Client {
  const protocol: PublishProtocol = options.version === 5 ? 'mqtt5' : 'mqtt311';
  const client = connectMqtt(options.url, options.credentials, {
    clientId: `soak-${options.name}`,
    protocolVersion: options.version,
    clean: options.clean,
  });
  let seq = 0;
  let inFlight = 0;
  const stop = pace(
    options.perSecond,
    () => {
      const id = `${options.name}-${seq++}`;
      const sentAt = Date.now();
      inFlight++;
      client.publish(options.topic, soakPayload(id, sentAt), { qos: options.qos }, (error) => {
        inFlight--;
        if (error) ledger.refused++;
        else if (options.qos > 0) ledger.ack(id, { publisher: options.name, protocol, topic: options.topic, sentAt });
      });
    },
    () => client.connected && inFlight < 200,
  );
  return {
    async close() {
      stop();
      await waitSettled(() => inFlight === 0 || !client.connected);
      await client.endAsync(true);
    },
  };
}

/** An AMQP 1.0 sender to `topic://…`, reconnecting after a broker kill; owed once `accepted`. */
export function amqpPublisher(
  ledger: Ledger,
  options: {
    readonly name: string;
    readonly port: number;
    readonly credentials: Credentials;
    readonly topic: string;
    readonly perSecond: number;
  },
): Client {
  let connection: Connection | undefined;
  let sender: rhea.Sender | undefined;
  let closed = false;
  let seq = 0;
  let unsettled = 0;
  const sent = new WeakMap<object, { id: string; sentAt: number }>();
  const open = () => {
    if (closed) return;
    unsettled = 0;
    const conn = rhea.create_container({ id: `soak-${options.name}` }).connect({
      host: '127.0.0.1',
      port: options.port,
      ...options.credentials,
      reconnect: false,
    });
    connection = conn;
    conn.on('error', () => {});
    conn.on('disconnected', () => {
      sender = undefined;
      if (!closed) setTimeout(open, 300);
    });
    const link = conn.open_sender(`topic://${options.topic}`);
    link.on('sendable', () => (sender = link));
    link.on('accepted', (context: EventContext) => {
      unsettled--;
      const message = sent.get(context.delivery!);
      if (message)
        ledger.ack(message.id, { publisher: options.name, protocol: 'amqp', topic: options.topic, ...message });
    });
    for (const refused of ['rejected', 'released', 'modified'] as const)
      link.on(refused, () => {
        unsettled--;
        ledger.refused++;
      });
  };
  open();
  const stop = pace(
    options.perSecond,
    () => {
      const id = `${options.name}-${seq++}`;
      const sentAt = Date.now();
      unsettled++;
      sent.set(sender!.send({ body: soakPayload(id, sentAt), durable: true }), { id, sentAt });
    },
    () => sender !== undefined && sender.sendable() && unsettled < 200,
  );
  return {
    async close() {
      stop();
      await waitSettled(() => unsettled <= 0 || sender === undefined);
      closed = true;
      connection?.close();
    },
  };
}

/** An HTTP publisher (`POST /api/v1/topics/…`), owed once answered 201. */
export function httpPublisher(
  ledger: Ledger,
  options: { readonly name: string; readonly client: HttpClient; readonly topic: string; readonly perSecond: number },
): Client {
  let seq = 0;
  let inFlight = 0;
  let backoffUntil = 0;
  const stop = pace(
    options.perSecond,
    () => {
      const id = `${options.name}-${seq++}`;
      const sentAt = Date.now();
      inFlight++;
      options.client
        .call('topics.publish', {
          topic: options.topic,
          payload: soakPayload(id, sentAt),
          contentType: 'application/json',
        })
        .then(
          () => ledger.ack(id, { publisher: options.name, protocol: 'http', topic: options.topic, sentAt }),
          () => {
            ledger.refused++;
            backoffUntil = Date.now() + 300; // down or refusing: try again shortly
          },
        )
        .finally(() => inFlight--);
    },
    () => inFlight < 16 && Date.now() >= backoffUntil,
  );
  return {
    async close() {
      stop();
      await waitSettled(() => inFlight === 0);
    },
  };
}

/** An MQTT subscriber (a `$queue/…` consumer or a persistent session); PUBACK after it counted. */
export function mqttSubscriber(
  ledger: Ledger,
  sink: Sink,
  options: {
    readonly name: string;
    readonly url: string;
    readonly credentials: Credentials;
    readonly version: 4 | 5;
    readonly clean: boolean;
    readonly filter: string;
  },
): Client {
  const client = connectMqtt(options.url, options.credentials, {
    clientId: `soak-${options.name}`,
    protocolVersion: options.version,
    clean: options.clean,
    resubscribe: true,
  });
  client.on('message', (_topic, payload) => ledger.received(sink, payload.toString(), 'mqtt'));
  client.on('connect', (connack) => {
    if (!connack.sessionPresent) client.subscribe(options.filter, { qos: 1 });
  });
  return { close: async () => void (await client.endAsync(true)) };
}

/** An AMQP receiver on a queue that accepts, except every `rejectEvery`-th message it rejects. */
export function amqpConsumer(
  ledger: Ledger,
  sink: Sink,
  options: {
    readonly port: number;
    readonly credentials: Credentials;
    readonly queue: string;
    readonly rejectEvery: number;
  },
): Client & { readonly rejected: Set<string> } {
  let connection: Connection | undefined;
  let closed = false;
  let seen = 0;
  const rejected = new Set<string>();
  const open = () => {
    if (closed) return;
    const conn = rhea.create_container({ id: `soak-consumer-${options.queue}` }).connect({
      host: '127.0.0.1',
      port: options.port,
      ...options.credentials,
      reconnect: false,
    });
    connection = conn;
    conn.on('error', () => {});
    conn.on('disconnected', () => {
      if (!closed) setTimeout(open, 300);
    });
    const receiver = conn.open_receiver({ source: options.queue, autoaccept: false, credit_window: 100 });
    receiver.on('message', (context: EventContext) => {
      const body = bodyText(context.message!);
      if (++seen % options.rejectEvery === 0) {
        const id = /"id":"([^"]+)"/.exec(body)?.[1];
        if (id) rejected.add(id);
        context.delivery!.reject({ condition: 'soak:rejected', description: 'rejected on purpose by the soak' });
      } else {
        ledger.received(sink, body, 'amqp');
        context.delivery!.accept();
      }
    });
  };
  open();
  return {
    rejected,
    async close() {
      closed = true;
      connection?.close();
    },
  };
}

/** An HTTP pull consumer: receive, count, ack; `stall(ms)` stops it for a while (a hung consumer). */
export function httpConsumer(
  ledger: Ledger,
  sink: Sink,
  options: { readonly client: HttpClient; readonly queue: string },
): Client & { stall(ms: number): void } {
  let closed = false;
  let stalledUntil = 0;
  const loop = async () => {
    while (!closed) {
      if (Date.now() < stalledUntil) {
        await sleep(200);
        continue;
      }
      try {
        const { messages } = await options.client.call('queues.receive', {
          name: options.queue,
          max: 100,
          waitMs: 500,
          visibilityTimeoutMs: 30_000,
        });
        // Acks go out together: they share the broker's next group commit.
        await Promise.all(
          messages.map(async (delivery) => {
            ledger.received(sink, decode(delivery.message.payload, delivery.message.payloadEncoding), 'http');
            await options.client.call('queues.ack', { name: options.queue, deliveryId: delivery.deliveryId });
          }),
        );
      } catch {
        await sleep(300); // the broker is down or restarting
      }
    }
  };
  const running = loop();
  return {
    stall(ms) {
      stalledUntil = Date.now() + ms;
    },
    async close() {
      closed = true;
      await running;
    },
  };
}

/** A live SSE subscription (no guarantee across a kill: latency only), resubscribing after each end. */
export function sseSubscriber(
  ledger: Ledger,
  options: { readonly client: HttpClient; readonly filter: string },
): Client {
  let closed = false;
  let current: { close(): void } | undefined;
  const loop = async () => {
    while (!closed) {
      const subscription = options.client.subscribe('topics.stream', { filter: options.filter }, (event) => {
        if (event.type === 'message') ledger.received(undefined, decode(event.payload, event.payloadEncoding), 'sse');
      });
      current = subscription;
      await subscription.ready.catch(() => {});
      await subscription.closed;
      if (!closed) await sleep(300);
    }
  };
  const running = loop();
  return {
    async close() {
      closed = true;
      current?.close();
      await running;
    },
  };
}

/** A client for the HTTP API with the soak's credentials. */
export function apiClient(url: string, auth: Credentials | { readonly token: string }): HttpClient {
  return createHttpClient(url, { auth });
}

function decode(payload: string, encoding: string): string {
  return encoding === 'base64' ? Buffer.from(payload, 'base64').toString('utf8') : payload;
}

function bodyText(message: Message): string {
  const body: unknown = message.body;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  const section = body as { content?: unknown } | undefined;
  return Buffer.isBuffer(section?.content) ? section.content.toString('utf8') : String(body);
}

async function waitSettled(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) await sleep(50);
}
