import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { BridgeConfig, MqttUpstreamConfig } from '../schema/bridge-config.ts';
import {
  UpstreamError,
  once,
  pem,
  toUpstreamError,
  type InboundMessage,
  type OutboundMessage,
  type Upstream,
  type UpstreamContext,
  type UpstreamHandlers,
  type UpstreamSession,
} from './upstream.ts';

// The one boundary where MQTT.js callbacks become promises (STYLE.md §11).

/** CONNACK / SUBACK codes meaning "not with these credentials" (3.1.1 §3.2.2.3, MQTT 5 §3.2.2.2). */
const authCodes = new Set([4, 5, 0x86, 0x87, 0x8a, 0x8c]);
/** MQTT 5 PUBACK codes that refuse this one message for good; others (0x80, 0x83, 0x97) are retried. */
const permanentPubackCodes = new Set([0x87, 0x90, 0x95, 0x99]);
/** Session expiry for the inbound session: the upstream keeps our subscription and messages while we are away. */
const sessionNeverExpires = 0xffffffff;

/** An MQTT 3.1.1 / 5 upstream reached with MQTT.js. */
export function mqttUpstream({ config, brokerId }: UpstreamContext): Upstream {
  const upstream = config.upstream as MqttUpstreamConfig;
  const url = new URL(upstream.url);
  url.username = '';
  url.password = '';
  return {
    address: url.toString(),
    connect: (handlers) => connectMqtt(upstream, { config, brokerId }, handlers),
  };
}

function clientOptions(upstream: MqttUpstreamConfig, { config, brokerId }: UpstreamContext): IClientOptions {
  const inbound = config.direction !== 'out';
  const v5 = upstream.protocolVersion === 5;
  return {
    protocolVersion: upstream.protocolVersion,
    clientId: upstream.clientId ?? `sluice-${brokerId.slice(0, 8)}-${config.name}`,
    // An inbound bridge needs the upstream to queue for it while it is away [MQTT-3.1.2-4].
    clean: !inbound,
    keepalive: upstream.keepaliveSeconds,
    // The bridge reconnects itself, with its own backoff, on a fresh client.
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    resubscribe: false,
    ...(config.credentials && { username: config.credentials.username, password: config.credentials.password }),
    ca: pem(config.tls.ca),
    cert: pem(config.tls.cert),
    key: pem(config.tls.key),
    rejectUnauthorized: config.tls.rejectUnauthorized,
    ...(config.tls.servername !== undefined && { servername: config.tls.servername }),
    ...(v5 && {
      properties: {
        sessionExpiryInterval: inbound ? sessionNeverExpires : 0,
        receiveMaximum: config.in.window,
      },
    }),
  };
}

async function connectMqtt(
  upstream: MqttUpstreamConfig,
  context: UpstreamContext,
  handlers: UpstreamHandlers,
): Promise<UpstreamSession> {
  const { config } = context;
  const v5 = upstream.protocolVersion === 5;
  const current: { session?: MqttSession } = {};
  type AckDone = (error: Error | number, code?: number) => void;
  // A persistent session's backlog can follow the CONNACK in the same read, before `session` exists.
  const early: Array<[IPublishPacket, AckDone]> = [];
  const handle = (current: MqttSession, packet: IPublishPacket, done: AckDone) => {
    current.receive(packet).then(
      () => done(0),
      (error: UpstreamError) => {
        // 0x99 payload format invalid: the closest MQTT 5 refusal; 3.1.1 can only take it.
        if (error.kind === 'refused-message') done(v5 ? 0x99 : 0);
        // Anything else: no ack, the connection goes, and the upstream keeps the message.
        else current.fail(error);
      },
    );
  };
  const options: IClientOptions = {
    ...clientOptions(upstream, context),
    // QoS 1/2 inbound: PUBACK / PUBREC only after the engine committed (DESIGN.md: durability contract).
    customHandleAcks: (_topic, _payload, packet: IPublishPacket, done) => {
      if (current.session) handle(current.session, packet, done);
      else early.push([packet, done]);
    },
  };
  const client = mqtt.connect(upstream.url, options);
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    const fail = once((error: UpstreamError) => {
      client.removeAllListeners();
      client.on('error', () => {});
      client.end(true);
      reject(error);
    });
    client.once('connect', (packet) => {
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve(packet);
    });
    client.on('error', (error) => fail(classify(error)));
    client.on('close', () => fail(new UpstreamError('network', `connection to ${upstream.url} closed`)));
  });
  const live = new MqttSession(client, config, v5, connack, handlers);
  current.session = live;
  for (const [packet, done] of early.splice(0)) handle(live, packet, done);
  await live.subscribe(connack.sessionPresent);
  return live;
}

/** Names the failure kind of an MQTT.js error (connection refusals carry a numeric code). */
function classify(error: Error & { code?: unknown }): UpstreamError {
  if (typeof error.code === 'number' && authCodes.has(error.code))
    return new UpstreamError('auth', `upstream refused the connection: ${error.message}`);
  if (typeof error.code === 'number') return new UpstreamError('protocol', error.message);
  return toUpstreamError(error, 'network');
}

class MqttSession implements UpstreamSession {
  readonly window: number;
  private readonly pending = new Set<(error: UpstreamError) => void>();
  private inbound: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly config: BridgeConfig,
    private readonly v5: boolean,
    connack: mqtt.IConnackPacket,
    private readonly handlers: UpstreamHandlers,
  ) {
    this.window = connack.properties?.receiveMaximum ?? Infinity;
    client.on('error', (error) => this.fail(classify(error)));
    client.on('close', () => this.fail(new UpstreamError('network', 'connection to the upstream closed')));
    // QoS 0 deliveries bypass customHandleAcks; QoS 1/2 ones arrive here after their ack and are ignored.
    client.on('message', (_topic, _payload, packet) => {
      if (packet.qos === 0) this.receive(packet).catch(() => {});
    });
  }

  /** Subscribes the inbound rules unless the upstream kept our session. */
  async subscribe(sessionPresent: boolean): Promise<void> {
    const { config } = this;
    if (config.direction === 'out' || sessionPresent) return;
    const subscriptions = Object.fromEntries(
      config.in.topics.map((rule) => [
        rule.filter,
        {
          qos: config.in.qos,
          // MQTT 5 no-local: our own publishes on this connection do not come back [MQTT-3.8.3-3];
          // retain handling 1: retained messages only for a new subscription.
          ...(this.v5 && { nl: true, rh: 1 }),
        },
      ]),
    );
    try {
      const granted = await this.client.subscribeAsync(subscriptions);
      const refused = granted.filter((g) => (g.qos & 0x80) !== 0);
      if (refused.length > 0)
        throw new UpstreamError(
          'auth',
          `upstream refused the subscription to ${refused.map((g) => g.topic).join(', ')}`,
        );
    } catch (error) {
      const failure =
        error instanceof UpstreamError
          ? error
          : typeof (error as { code?: unknown }).code === 'number' && authCodes.has((error as { code: number }).code)
            ? new UpstreamError('auth', `upstream refused the subscription: ${(error as Error).message}`)
            : toUpstreamError(error, 'protocol');
      await this.close();
      throw failure;
    }
  }

  send(message: OutboundMessage): Promise<void> {
    if (this.closed) return Promise.reject(new UpstreamError('network', 'connection closed'));
    const options: IClientPublishOptions = { qos: this.config.out.qos };
    if (this.v5) options.properties = publishProperties(message);
    return new Promise<void>((resolve, reject) => {
      const abort = (error: UpstreamError) => reject(error);
      this.pending.add(abort);
      this.client.publish(message.topic, message.payload, options, (error) => {
        this.pending.delete(abort);
        if (!error) return resolve();
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number' && permanentPubackCodes.has(code))
          reject(new UpstreamError('refused-message', `upstream refused the message: ${error.message}`));
        else reject(toUpstreamError(error, typeof code === 'number' ? 'protocol' : 'network'));
      });
    });
  }

  /** Inbound messages are handled one at a time, in arrival order. */
  receive(packet: IPublishPacket): Promise<void> {
    const message = inboundMessage(packet);
    const result = this.inbound.then(() => this.handlers.onMessage(message));
    this.inbound = result.catch(() => {});
    return result;
  }

  /** Drops the connection because of `error` and tells the bridge. */
  fail(error: UpstreamError): void {
    if (this.closed) return;
    this.shutdown(error);
    this.client.end(true);
    this.handlers.onClosed(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.shutdown(new UpstreamError('network', 'connection closed by the bridge'));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.end(true);
        resolve();
      }, 2000);
      this.client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private shutdown(error: UpstreamError): void {
    this.closed = true;
    for (const abort of this.pending) abort(error);
    this.pending.clear();
    this.client.removeAllListeners('message');
    this.client.removeAllListeners('close');
    this.client.removeAllListeners('error');
    this.client.on('error', () => {});
  }
}

/** MQTT 5 publish properties: headers as user properties, plus content type, correlation, reply topic, expiry. */
function publishProperties(message: OutboundMessage): NonNullable<IClientPublishOptions['properties']> {
  return {
    userProperties: { ...message.headers },
    ...(message.contentType !== undefined && { contentType: message.contentType }),
    ...(message.correlationId !== undefined && { correlationData: Buffer.from(message.correlationId) }),
    ...(message.replyTo !== undefined && { responseTopic: message.replyTo }),
    ...(message.expiresAt !== null && {
      messageExpiryInterval: Math.max(1, Math.ceil((message.expiresAt - Date.now()) / 1000)),
    }),
  };
}

function inboundMessage(packet: IPublishPacket): InboundMessage {
  const props = packet.properties ?? {};
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(props.userProperties ?? {}))
    headers[key] = Array.isArray(value) ? value.join(',') : String(value);
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
  return {
    topic: packet.topic,
    payload,
    headers,
    ...(props.contentType !== undefined && { contentType: props.contentType }),
    ...(props.correlationData !== undefined && { correlationId: props.correlationData.toString() }),
    ...(props.responseTopic !== undefined && { replyTo: props.responseTopic }),
    ...(props.messageExpiryInterval !== undefined && {
      expiresAt: Date.now() + props.messageExpiryInterval * 1000,
    }),
  };
}
