/**
 * The simulated plant systems: real protocol clients over loopback sockets to the broker's own
 * listeners (docs/demo.md). PLCs and SCADA speak MQTT (MQTT.js, 3.1.1); the ERP adapter and
 * the historian speak HTTP through the documented raw publish and pull-receive routes
 * (docs/http.md); the MES consumes over AMQP 1.0 (rhea, `queue://<name>`, manual settlement).
 * Callback APIs are wrapped here, once (STYLE.md §11).
 *
 * On a broker with security, every actor presents the run's `demo` credentials (identity.ts):
 * MQTT user name and password in CONNECT, AMQP SASL PLAIN, and over HTTP a bearer token from
 * `auth.login`. The password stays in these objects' memory; it is never logged.
 */
import mqtt, { type MqttClient } from 'mqtt';
import rhea, { type Connection, type EventContext, type Message, type Receiver, type ReceiverOptions } from 'rhea';
import { createHttpClient, type HttpClient } from '../api/client.ts';
import type { OperationOutput } from '../api/contract.ts';

/** Where the broker's doors are, as the host started them. */
export interface DemoEndpoints {
  /** Base URL of the HTTP API (`http://127.0.0.1:8080`). */
  readonly httpUrl: string;
  /** `mqtt://host:port`; without it, MQTT actors cannot run. */
  readonly mqttUrl?: string;
  /** `amqp://host:port`; without it (AMQP disabled), AMQP actors cannot run. */
  readonly amqpUrl?: string;
}

/** Reads the endpoints from a broker's listeners (`Broker.listeners`: name + url). */
export function demoEndpoints(
  listeners: ReadonlyArray<{ readonly name: string; readonly url: string }>,
): DemoEndpoints {
  const url = (name: string, scheme: string) =>
    listeners
      .find((listener) => listener.name === name)
      ?.url.split(' ')
      .find((candidate) => candidate.startsWith(scheme));
  const httpUrl = url('http', 'http');
  if (httpUrl === undefined) throw new Error('the demo runner needs the HTTP listener');
  const mqttUrl = url('mqtt', 'mqtt://');
  const amqpUrl = url('amqp', 'amqp://');
  return { httpUrl, ...(mqttUrl && { mqttUrl }), ...(amqpUrl && { amqpUrl }) };
}

/** The user name and password an actor logs in with. */
export interface ActorCredentials {
  readonly username: string;
  readonly password: string;
}

/** A message an MQTT subscriber received. */
export interface ReceivedMqttMessage {
  readonly topic: string;
  readonly payload: string;
  /** Sent because it was retained (on SUBSCRIBE), not as a live or queued delivery. */
  readonly retained: boolean;
}

/** An MQTT actor (PLC or SCADA). */
export class MqttActor {
  private client: MqttClient | undefined;
  /** Every message received since the last (re)connect. */
  received: ReceivedMqttMessage[] = [];
  /** CONNACK's session-present flag of the last connect. */
  sessionPresent = false;

  constructor(
    private readonly url: string,
    /** Stable per scenario and actor, so a persistent session can be resumed. */
    readonly clientId: string,
    private readonly credentials?: ActorCredentials,
  ) {}

  /**
   * Connects; `persistent` keeps the session (clean session off) for a later reconnect.
   * Resolves with CONNACK's session-present flag.
   */
  async connect(persistent: boolean): Promise<boolean> {
    await this.close();
    this.received = [];
    return new Promise<boolean>((resolve, reject) => {
      const client = mqtt.connect(this.url, {
        clientId: this.clientId,
        protocolVersion: 4,
        clean: !persistent,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...(this.credentials && { username: this.credentials.username, password: this.credentials.password }),
      });
      client.on('message', (topic, payload, packet) =>
        this.received.push({ topic, payload: payload.toString('utf8'), retained: packet.retain }),
      );
      client.once('connect', (connack) => {
        this.sessionPresent = connack.sessionPresent;
        client.on('error', () => undefined); // a refused publish closes the socket; the step sees the rejection
        resolve(connack.sessionPresent);
      });
      client.once('error', (error) => reject(error));
      this.client = client;
    });
  }

  async subscribe(filters: readonly string[]): Promise<void> {
    await this.connected().subscribeAsync([...filters], { qos: 1 });
  }

  /**
   * Publishes at QoS 1: resolves after PUBACK, i.e. after the broker's durable commit. A refused
   * publish rejects when the broker closes the connection (MQTT 3.1.1 has no negative PUBACK),
   * rather than waiting for a PUBACK that never comes.
   */
  async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    const client = this.connected();
    await new Promise<void>((resolve, reject) => {
      const closed = () =>
        reject(new Error(`the broker closed ${this.clientId}'s connection: publishing to ${topic} was refused`));
      client.once('close', closed);
      client.publish(topic, payload, { qos: 1, retain }, (error) => {
        client.off('close', closed);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  get isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Disconnects cleanly (DISCONNECT sent); a persistent session stays on the broker. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A connection the broker closed ends at once: a clean end would wait for unanswered publishes.
    if (!client.connected) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    else await client.endAsync().catch(() => client.end(true));
  }

  private connected(): MqttClient {
    if (!this.client) throw new Error(`${this.clientId} is not connected`);
    return this.client;
  }
}

/** One message a pull receiver holds. */
export type PulledMessage = OperationOutput<'queues.receive'>['messages'][number];

/**
 * An HTTP actor (ERP adapter, MES, historian): raw publish and pull receive over fetch. With
 * credentials it logs in once (`auth.login`) and sends the bearer token: Basic on every request
 * would cost a scrypt check per poll.
 */
export class HttpActor {
  private readonly client: HttpClient;
  private login: Promise<void> | undefined;

  constructor(
    httpUrl: string,
    private readonly credentials?: ActorCredentials,
  ) {
    this.client = createHttpClient(httpUrl);
  }

  /** `POST /api/v1/topics/{topic}` with the payload as the body; answers after the durable commit. */
  async publish(topic: string, payload: string): Promise<void> {
    await (await this.ready()).call('topics.publish', { topic, payload, contentType: 'application/json' });
  }

  /** `POST /api/v1/queues/{name}/messages:receive`, long-polling briefly. */
  async receive(queue: string, max: number, visibilityTimeoutMs: number): Promise<PulledMessage[]> {
    const client = await this.ready();
    const answer = await client.call('queues.receive', { name: queue, max, waitMs: 200, visibilityTimeoutMs });
    return answer.messages;
  }

  async ack(queue: string, deliveryId: string): Promise<void> {
    await (await this.ready()).call('queues.ack', { name: queue, deliveryId });
  }

  async reject(queue: string, deliveryId: string, error: string): Promise<void> {
    await (await this.ready()).call('queues.reject', { name: queue, deliveryId, error });
  }

  /** The client, logged in on first use when the actor has credentials. */
  private async ready(): Promise<HttpClient> {
    const credentials = this.credentials;
    if (!credentials) return this.client;
    this.login ??= this.client
      .call('auth.login', { user: credentials.username, password: credentials.password })
      .then(({ token }) => this.client.setAuth({ token }));
    try {
      await this.login;
    } catch (error) {
      this.login = undefined; // the next call tries again
      throw error;
    }
    return this.client;
  }
}

/** One message an AMQP receiver holds, until it is settled. */
export interface AmqpDelivered {
  readonly payload: string;
  /** `accepted`: the broker acks it. */
  accept(): void;
  /** `rejected` with the error's description: the broker dead-letters it (reason rejected) with that text. */
  reject(error: string): void;
  /** `modified{delivery-failed}`: the attempt counts as failed (max redelivery → DMQ). */
  fail(): void;
}

/** An AMQP 1.0 consumer (MES): a rhea receiver on `queue://<name>`, settled manually. */
export class AmqpActor {
  private connection: Connection | undefined;
  private readonly receivers = new Map<string, { receiver: Receiver; held: AmqpDelivered[] }>();

  constructor(
    private readonly url: string,
    readonly containerId: string,
    private readonly credentials?: ActorCredentials,
  ) {}

  /** Waits briefly for up to `max` messages of `queue` (the receiver is attached on first use). */
  async receive(queue: string, max: number): Promise<AmqpDelivered[]> {
    const { held } = await this.receiver(queue);
    const until = Date.now() + 200;
    while (held.length === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    return held.splice(0, max);
  }

  /** Detaches the receiver of `queue`: what it was sent but did not settle is released to the queue. */
  async detach(queue: string): Promise<void> {
    const entry = this.receivers.get(queue);
    if (!entry) return;
    this.receivers.delete(queue);
    entry.held.length = 0;
    await new Promise<void>((resolve) => {
      if (entry.receiver.is_closed()) return resolve();
      entry.receiver.once('receiver_close', () => resolve());
      entry.receiver.once('receiver_error', () => resolve());
      this.connection?.once('disconnected', () => resolve());
      entry.receiver.close();
    });
  }

  /** Closes the connection (and with it every receiver). */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.receivers.clear();
    if (!connection || connection.is_closed()) return;
    await new Promise<void>((resolve) => {
      connection.once('connection_close', () => resolve());
      connection.once('disconnected', () => resolve());
      connection.close();
    });
  }

  private async receiver(queue: string): Promise<{ receiver: Receiver; held: AmqpDelivered[] }> {
    const existing = this.receivers.get(queue);
    if (existing) return existing;
    const connection = await this.connected();
    const held: AmqpDelivered[] = [];
    const receiver = connection.open_receiver({
      source: { address: `queue://${queue}` },
      autoaccept: false,
      credit_window: 20,
    } as ReceiverOptions);
    receiver.on('message', (context: EventContext) => {
      const delivery = context.delivery!;
      held.push({
        payload: messageText(context.message!),
        accept: () => delivery.accept(),
        // The description alone, so the dead message's error reads as the HTTP actor's does.
        reject: (error) => delivery.reject({ description: error } as unknown as Parameters<typeof delivery.reject>[0]),
        fail: () => delivery.modified({ delivery_failed: true }),
      });
    });
    await new Promise<void>((resolve, reject) => {
      receiver.once('receiver_open', () =>
        setImmediate(() => (receiver.error === undefined ? resolve() : reject(amqpError(receiver.error)))),
      );
      receiver.once('receiver_error', (context: EventContext) => reject(amqpError(context.receiver!.error)));
    });
    const entry = { receiver, held };
    this.receivers.set(queue, entry);
    return entry;
  }

  private async connected(): Promise<Connection> {
    if (this.connection && !this.connection.is_closed()) return this.connection;
    const { hostname, port } = new URL(this.url);
    const container = rhea.create_container({ id: this.containerId });
    // rhea answers SASL PLAIN when given a user name and password (AMQP 1.0 §5.3; RFC 4616).
    const connection = container.connect({
      host: hostname,
      port: Number(port),
      reconnect: false,
      ...(this.credentials && { username: this.credentials.username, password: this.credentials.password }),
    });
    connection.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      connection.once('connection_open', () =>
        setImmediate(() => (connection.error === undefined ? resolve() : reject(amqpError(connection.error)))),
      );
      connection.once('connection_error', (context: EventContext) =>
        reject(amqpError(context.connection.error ?? 'connection error')),
      );
      connection.once('disconnected', (context: EventContext) =>
        reject(amqpError(context.error ?? `could not connect to ${this.url}`)),
      );
    });
    this.connection = connection;
    return connection;
  }
}

/** A message's payload as text (data section, string or buffer body). */
function messageText(message: Message): string {
  const body = message.body as { content?: Buffer } | string | Buffer | undefined;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return Buffer.from(body?.content ?? []).toString('utf8');
}

function amqpError(error: unknown): Error {
  if (error instanceof Error) return error;
  const { condition, description } = (error ?? {}) as { condition?: string; description?: string };
  return new Error(
    typeof error === 'string' ? error : [condition, description].filter(Boolean).join(': ') || 'AMQP error',
  );
}
