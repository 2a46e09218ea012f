import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { IncomingMessage } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectionHandle, ConnectionRegistry } from '../../api/connections.ts';
import type { Engine } from '../../engine/engine.ts';
import { SluiceError, toSluiceError } from '../../errors.ts';
import { allowAllPolicy, authorize, type Principal, type SecurityPolicy } from '../../security/authorize.ts';
import { MqttPersistenceStore } from '../../store/mqtt-persistence-store.ts';
import { mqttConfigSchema, type MqttConfig, type MqttConfigInput } from './config.ts';
import { startListeners } from './listeners.ts';
import { SqlitePersistence, type AedesPacket, type Committer, type PersistenceClient } from './persistence.ts';
import { Session, mqttQosHeader, type AedesClient, type SessionContext } from './session.ts';

export { mqttConfigSchema, type MqttConfig, type MqttConfigInput } from './config.ts';

/** The engine headers of an MQTT publish, one shared object per QoS (the engine copies headers). */
const qosHeaders = [0, 1, 2].map((qos) => Object.freeze({ [mqttQosHeader]: String(qos) })) as unknown as readonly [
  Readonly<Record<string, string>>,
  Readonly<Record<string, string>>,
  Readonly<Record<string, string>>,
];

/** The running MQTT listener. */
export interface MqttListener {
  /** Bound ports (useful with port 0). */
  readonly ports: { readonly tcp?: number; readonly ws?: number; readonly tls?: number };
  /** Connected clients now, and live messages dropped for slow clients since start. */
  stats(): { clients: number; liveDropped: number };
  /** Stops accepting, disconnects clients (their queue deliveries return to ready), keeps the engine open. */
  close(): Promise<void>;
}

/** Extra wiring from the broker: its security policy and connection registry. */
export interface StartMqttOptions {
  readonly security?: SecurityPolicy;
  /** Authenticated clients are listed there (connections.list) and can be disconnected. */
  readonly connections?: ConnectionRegistry;
}

/**
 * Starts aedes on the engine: MQTT 3.1.1 and 3.1 over TCP, WebSocket and TLS.
 *
 * A PUBLISH goes authorize → engine.publish (durable, routed once by the engine) →
 * [retained: store] → PUBACK / PUBREC; aedes' own fan-out is switched off, so subscribers are
 * served only by the engine (see session.ts and docs/mqtt.md).
 */
export async function startMqtt(
  engine: Engine,
  configInput: MqttConfigInput | MqttConfig,
  logger: Logger,
  options: StartMqttOptions = {},
): Promise<MqttListener> {
  const config = mqttConfigSchema.parse(configInput);
  const log = logger.child({ protocol: 'mqtt' });
  const security = options.security ?? allowAllPolicy;
  const sessions = new Map<Client, Session>();
  const registered = new Map<Client, ConnectionHandle>();
  const context: SessionContext = { engine, config, logger: log, security, counters: { liveDropped: 0 } };
  const sessionOf = (client: PersistenceClient | null): Session | undefined =>
    client ? sessions.get(client as Client) : undefined;

  // Persistence writes join the engine's group commit (DESIGN.md: durability contract).
  const commit: Committer = (work) => engine.commit.submit((flush) => work(flush.tx));
  const persistence = new EnginePersistence(new MqttPersistenceStore(engine.store.database), commit, sessionOf);

  const broker = await Aedes.createBroker({
    persistence,
    heartbeatInterval: config.heartbeatIntervalMs,
    connectTimeout: config.connectTimeoutMs,
    // 3.1.1 cannot advertise a receive window: one QoS 2 PUBLISH too many closes the connection.
    maxInflightInbound: config.maxInFlightPerClient,
    preConnect(client, packet, callback) {
      if (packet.protocolVersion === 5)
        // aedes then answers CONNACK return code 1 (unacceptable protocol version) and closes [MQTT-3.1.2-2].
        log.warn(
          { clientId: packet.clientId, remote: remoteOf(client) },
          'mqtt: refused an MQTT 5 client: this broker speaks MQTT 3.1.1 and 3.1 (CONNACK 1, unacceptable protocol version)',
        );
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      if (broker.connectedClients >= config.maxConnections) {
        log.warn({ clientId: client.id, max: config.maxConnections }, 'mqtt: connection limit reached');
        return callback(refusal(3, 'server unavailable: connection limit reached'), false);
      }
      security
        .authenticate({
          protocol: 'mqtt',
          clientId: client.id,
          ...(remoteOf(client) !== undefined && { address: remoteOf(client) }),
          ...(username !== undefined && { username }),
          ...(password !== undefined && { password }),
        })
        .then(
          (principal) => {
            sessions.set(client, new Session(context, client as unknown as AedesClient, principal));
            const handle = options.connections?.register(
              { protocol: 'mqtt', clientId: client.id, user: principal.user, address: remoteOf(client) ?? null },
              () => client.close(),
            );
            if (handle) registered.set(client, handle);
            callback(null, true);
          },
          (error: unknown) => {
            const code = toSluiceError(error).code === 'not-authenticated' ? 4 : 5;
            log.info({ clientId: client.id, err: error }, 'mqtt: authentication refused');
            callback(refusal(code, toSluiceError(error).message), false);
          },
        );
    },
    authorizePublish(client, packet, callback) {
      const refuse = (error: unknown): void => {
        const refused = toSluiceError(error);
        // MQTT 3.1.1 has no negative PUBACK: the only answer is closing the connection.
        log.warn(
          { clientId: client?.id, topic: packet.topic, code: refused.code, reason: refused.detail },
          'mqtt: publish refused, closing the connection',
        );
        callback(refused);
      };
      let published: Promise<unknown>;
      try {
        published = publishToEngine(client, packet as unknown as AedesPacket);
      } catch (error) {
        // Refused before reaching the engine (authorization, $SYS): answered in the next turn, as before.
        published = Promise.reject(error);
      }
      published.then(() => callback(null), refuse);
    },
    authorizeSubscribe(client, subscription, callback) {
      const session = sessions.get(client);
      if (!session) return callback(null, null);
      session.subscribe(subscription.topic, subscription.qos as 0 | 1 | 2).then(
        (granted) => callback(null, granted ? subscription : null),
        (error: unknown) => {
          const refused = toSluiceError(error);
          log.info(
            { clientId: client.id, topic: subscription.topic, code: refused.code, reason: refused.detail },
            'mqtt: subscription refused (SUBACK 0x80)',
          );
          callback(null, null);
        },
      );
    },
  });

  /** authorize → engine.publish (durable) → retained store; PUBACK/PUBREC follow only after this resolves. */
  function publishToEngine(client: Client | null, packet: AedesPacket): Promise<unknown> {
    const clientId = client?.id ?? packet.clientId;
    const principal: Principal = sessionOf(client)?.principal ?? {
      user: null,
      protocol: 'mqtt',
      ...(clientId !== undefined && { clientId }),
    };
    if (packet.topic.startsWith('$SYS')) throw new SluiceError('not-authorized', '$SYS topics are reserved');
    authorize(principal, 'publish', packet.topic, security);
    if (client) registered.get(client)?.countIn();
    const qos = (packet.qos ?? 0) as 0 | 1 | 2;
    // The common case, QoS 0/1 without retain, costs one promise: the engine's commit.
    if (qos < 2 && !packet.retain) return publishOnce(clientId, packet, qos);
    return publishSlow(client, clientId, packet, qos);
  }

  async function publishSlow(
    client: Client | null,
    clientId: string | undefined,
    packet: AedesPacket,
    qos: 0 | 1 | 2,
  ): Promise<void> {
    // [MQTT-4.3.3-2] a retransmitted QoS 2 PUBLISH whose PUBREL is pending was already accepted.
    if (qos === 2 && client && (await persistence.incomingGetPacket(client, packet).then(Boolean, () => false))) return;
    await publishOnce(clientId, packet, qos);
    if (packet.retain)
      await persistence.storeRetained({
        cmd: 'publish',
        topic: packet.topic,
        payload: packet.payload,
        qos,
        retain: true,
      });
  }

  function publishOnce(clientId: string | undefined, packet: AedesPacket, qos: 0 | 1 | 2): Promise<unknown> {
    const { topic, payload } = packet;
    const headers = qosHeaders[qos];
    return engine.publish(
      clientId === undefined
        ? { topic, payload, protocol: 'mqtt', headers }
        : { topic, payload, protocol: 'mqtt', headers, publisher: clientId },
    );
  }

  // aedes' fan-out (retained store, offline enqueue, mqemitter) must not route the same message
  // again: the engine already did. Only aedes' own $SYS traffic goes through its emitter.
  const aedesPublish = broker.publish.bind(broker);
  broker.publish = ((packet: AedesPacket, client: unknown, done?: (error?: Error | null) => void) => {
    const callback = typeof client === 'function' ? (client as (error?: Error | null) => void) : done;
    if (packet.topic.startsWith('$SYS/')) return aedesPublish(packet as never, callback ?? (() => {}));
    callback?.(null);
  }) as unknown as typeof broker.publish;

  broker.on('clientReady', (client) => sessions.get(client)?.start());
  broker.on('unsubscribe', (topics, client) => {
    sessions
      .get(client)
      ?.unsubscribe(topics)
      .catch((error) => log.warn({ err: error }, 'mqtt: unsubscribe failed'));
  });
  broker.on('clientError', (client, error) => log.debug({ clientId: client.id, err: error }, 'mqtt: client error'));
  broker.on('connectionError', (client, error) => log.debug({ err: error }, 'mqtt: connection error'));

  const closing = new Set<Promise<void>>();
  const endSession = (client: Client): void => {
    registered.get(client)?.closed();
    registered.delete(client);
    const session = sessions.get(client);
    if (!session) return;
    sessions.delete(client);
    const done = session.close().finally(() => closing.delete(done));
    closing.add(done);
  };
  broker.on('clientDisconnect', endSession);

  const listeners = await startListeners(config, (connection: Duplex, request?: IncomingMessage) => {
    const client = broker.handle(connection, request);
    limitPacketSize(client, config.maxPacketBytes);
    connection.once('close', () => endSession(client));
  }).catch(async (error) => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  });
  log.info({ ports: listeners.ports }, 'mqtt: listening');

  return {
    ports: listeners.ports,
    stats: () => ({ clients: broker.connectedClients, liveDropped: context.counters.liveDropped }),
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await listeners.close();
      for (const client of [...sessions.keys()]) endSession(client);
      await Promise.all(closing);
    },
  };
}

/**
 * The broker's persistence: SQLite for retained messages, subscriptions, wills and inbound QoS 2,
 * while aedes' outgoing store is replaced by engine queues (DESIGN.md: MQTT sessions are queues):
 * nothing is enqueued or replayed by aedes, and PUBACK/PUBCOMP settle the engine delivery.
 */
class EnginePersistence extends SqlitePersistence {
  constructor(
    store: MqttPersistenceStore,
    commit: Committer,
    private readonly sessionOf: (client: PersistenceClient) => Session | undefined,
  ) {
    super(store, commit);
  }

  override async outgoingEnqueue(): Promise<void> {}
  override async outgoingEnqueueCombi(): Promise<void> {}
  override async outgoingUpdate(): Promise<void> {}
  override outgoingStream(): Readable {
    return Readable.from([]);
  }
  override outgoingClearMessageId(
    client: PersistenceClient,
    packet: { messageId?: number },
  ): Promise<AedesPacket | undefined> {
    this.sessionOf(client)?.acknowledged(packet.messageId);
    return Promise.resolve(packet as AedesPacket);
  }

  /** UNSUBSCRIBE of a persistent session: its queue stops collecting before UNSUBACK. */
  override async removeSubscriptions(client: PersistenceClient, topics: string[]): Promise<void> {
    await this.sessionOf(client)?.unsubscribe(topics);
    await super.removeSubscriptions(client, topics);
  }

  /** A clean session starts: the previous persistent session, queue included, is discarded. */
  override async cleanSubscriptions(client: PersistenceClient): Promise<void> {
    await this.sessionOf(client)?.discardPersistentSession();
    await super.cleanSubscriptions(client);
  }
}

/** A CONNACK refusal aedes understands (3.1.1 return codes 2–5, plus 3 for limits). */
function refusal(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

function remoteOf(client: Client): string | undefined {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
  return conn?.remoteAddress;
}

/**
 * Closes the connection as soon as a packet header announces more than `maxBytes` (3.1.1 has no
 * reason code for it), before its body is buffered. Wraps mqtt-packet's length step on this
 * client's parser (node_modules/mqtt-packet/parser.js `_parseLength`), the one hook it offers.
 */
function limitPacketSize(client: Client, maxBytes: number): void {
  const parser = (client as unknown as { _parser: ParserInternals })._parser;
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: ParserInternals): boolean {
    const complete = parseLength.call(this);
    if (complete && this.packet.length > maxBytes) {
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds maxPacketBytes ${maxBytes}`));
      return false;
    }
    return complete;
  };
}

interface ParserInternals {
  packet: { length: number };
  _parseLength(this: ParserInternals): boolean;
  _emitError(error: Error): void;
}
