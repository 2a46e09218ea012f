/**
 * The simulated plant systems: real protocol clients over loopback sockets to the broker's own
 * listeners (docs/demo.md). PLCs and SCADA speak MQTT (MQTT.js, 3.1.1); the ERP adapter and
 * the MES speak HTTP through the documented raw publish and pull-receive routes (docs/http.md).
 * Callback APIs are wrapped here, once (STYLE.md §11).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createHttpClient, type HttpClient } from '../api/client.ts';
import type { OperationOutput } from '../api/contract.ts';

/** Where the broker's doors are, as the host started them. */
export interface DemoEndpoints {
  /** Base URL of the HTTP API (`http://127.0.0.1:8080`). */
  readonly httpUrl: string;
  /** `mqtt://host:port`; without it, MQTT actors cannot run. */
  readonly mqttUrl?: string;
  /** `amqp://host:port` once the AMQP listener is wired; without it, AMQP actors run over HTTP. */
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
  const amqpUrl = url('amqp', 'amqp');
  return { httpUrl, ...(mqttUrl && { mqttUrl }), ...(amqpUrl && { amqpUrl }) };
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

  /** Publishes at QoS 1: resolves after PUBACK, i.e. after the broker's durable commit. */
  async publish(topic: string, payload: string, retain: boolean): Promise<void> {
    await this.connected().publishAsync(topic, payload, { qos: 1, retain });
  }

  get isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Disconnects cleanly (DISCONNECT sent); a persistent session stays on the broker. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync().catch(() => client.end(true));
  }

  private connected(): MqttClient {
    if (!this.client) throw new Error(`${this.clientId} is not connected`);
    return this.client;
  }
}

/** One message a pull receiver holds. */
export type PulledMessage = OperationOutput<'queues.receive'>['messages'][number];

/** An HTTP actor (ERP adapter, MES, historian): raw publish and pull receive over fetch. */
export class HttpActor {
  private readonly client: HttpClient;

  constructor(httpUrl: string) {
    this.client = createHttpClient(httpUrl);
  }

  /** `POST /api/v1/topics/{topic}` with the payload as the body; answers after the durable commit. */
  async publish(topic: string, payload: string): Promise<void> {
    await this.client.call('topics.publish', { topic, payload, contentType: 'application/json' });
  }

  /** `POST /api/v1/queues/{name}/messages:receive`, long-polling briefly. */
  async receive(queue: string, max: number, visibilityTimeoutMs: number): Promise<PulledMessage[]> {
    const answer = await this.client.call('queues.receive', { name: queue, max, waitMs: 200, visibilityTimeoutMs });
    return answer.messages;
  }

  async ack(queue: string, deliveryId: string): Promise<void> {
    await this.client.call('queues.ack', { name: queue, deliveryId });
  }

  async reject(queue: string, deliveryId: string, error: string): Promise<void> {
    await this.client.call('queues.reject', { name: queue, deliveryId, error });
  }
}
