import { Aedes, type Client } from 'aedes';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { ConnectionHandle, ConnectionRegistry } from '../../api/connections.ts';
import type { Engine } from '../../engine/engine.ts';
import { toSluiceError } from '../../errors.ts';
import { allowAllPolicy, type SecurityPolicy } from '../../security/authorize.ts';
import { MqttPersistenceStore } from '../../store/mqtt-persistence-store.ts';
import { mqttConfigSchema, type MqttConfig, type MqttConfigInput } from './config.ts';
import { startListeners } from './listeners.ts';
import { ownershipRefusal, watchRights } from './access.ts';
import {
  holdWill,
  isV5,
  prepareV5,
  refusal,
  remoteOf,
  sendDisconnect,
  type PatchedClient,
  type V5Connect,
  type V5ConnectPacket,
} from './connect.ts';
import type { AedesClient, SessionContext, V5Settings } from './delivery.ts';
import { EnginePersistence } from './engine-persistence.ts';
import {
  answerUnknownProtocolLevel,
  limitPacketSize,
  refuseEmptySubscribe,
  refuseForeignProperties,
  refuseInvalidUtf8,
} from './packet-guards.ts';
import type { AedesPacket, Committer, PersistenceClient } from './persistence.ts';
import { enginePublisher } from './publish.ts';
import { parsePublishesInPlace } from './publish-parse.ts';
import { sessionQueueName, sharePrefix } from './queue-names.ts';
import { Session } from './session.ts';
import { SessionExpiry } from './session-expiry.ts';
import { WillDelay } from './will-delay.ts';
import { isWill, willUserField, type WillPacket } from './wills.ts';

export { mqttConfigSchema, type MqttConfig, type MqttConfigInput } from './config.ts';

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
 * Starts aedes on the engine: MQTT 5, 3.1.1 and 3.1 over TCP, WebSocket and TLS (aedes 1.2 with
 * Sluice's patch for MQTT 5, patches/aedes+1.2.0.patch; see docs/mqtt.md).
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
  /** MQTT 5 CONNECTs between preConnect and authenticate. */
  const v5Connects = new WeakMap<Client, V5Connect>();
  /** 3.1/3.1.1 CONNECTs whose empty client identifier is refused [MQTT-3.1.3-8]. */
  const rejectedIds = new WeakSet<Client>();
  /** Connected clients by id (for session expiry: a connected session does not expire). */
  const clientsById = new Map<string, Client>();

  // Persistence writes join the engine's group commit (DESIGN.md: durability contract).
  const commit: Committer = (work) => engine.commit.submit((flush) => work(flush.tx));
  const store = new MqttPersistenceStore(engine.store.database);
  const persistence = new EnginePersistence(store, commit, sessionOf, (clientId) =>
    security.owners?.release(sessionQueueName(clientId)),
  );
  // MQTT 5 wills with a will delay interval are held back; published as aedes publishes a will.
  const willDelay = new WillDelay(
    persistence,
    (will, client) =>
      new Promise<void>((resolve, reject) =>
        broker.authorizePublish(client as Client | null, will as never, (error) => (error ? reject(error) : resolve())),
      ),
    log,
  );
  // authorize → engine.publish (durable) → retained store; PUBACK/PUBREC follow only after it resolves.
  const publishToEngine = enginePublisher({ engine, security, persistence, registered, sessionOf });

  const broker = await Aedes.createBroker({
    persistence,
    heartbeatInterval: config.heartbeatIntervalMs,
    connectTimeout: config.connectTimeoutMs,
    // 3.1.1 cannot advertise a receive window: one QoS 2 PUBLISH too many closes the connection.
    maxInflightInbound: config.maxInFlightPerClient,
    preConnect(client, packet, callback) {
      if (packet.protocolVersion === 5)
        v5Connects.set(client, prepareV5(client, packet as unknown as V5ConnectPacket, config));
      // [MQTT-3.1.3-8] 3.1.1: no client identifier is allowed only with CleanSession = 1
      // (3.1 requires one); otherwise CONNACK 0x02 identifier rejected, and the connection closes.
      else if (!packet.clientId && (!packet.clean || packet.protocolVersion === 3)) rejectedIds.add(client);
      callback(null, true);
    },
    authenticate(client, username, password, callback) {
      if (rejectedIds.has(client)) return callback(refusal(2, 'identifier rejected: empty client id', 0x85), false);
      const v5 = v5Connects.get(client);
      if (v5?.authenticationMethod !== undefined) {
        // Enhanced authentication (§4.12) is not offered [MQTT-4.12.0-1].
        log.info({ clientId: client.id, method: v5.authenticationMethod }, 'mqtt: enhanced authentication refused');
        return callback(refusal(5, 'enhanced authentication is not supported', 0x8c), false);
      }
      if (broker.connectedClients >= config.maxConnections) {
        log.warn({ clientId: client.id, max: config.maxConnections }, 'mqtt: connection limit reached');
        return callback(refusal(3, 'server unavailable: connection limit reached', 0x97), false);
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
          async (principal) => {
            const live = clientsById.get(client.id);
            const owned = ownershipRefusal(client.id, principal, live && sessions.get(live), security);
            if (owned) {
              // Refused before aedes' takeover: the owner's live connection, session queue and
              // will are untouched (DESIGN.md: state has an owner).
              log.warn({ clientId: client.id, user: principal.user }, `mqtt: ${owned}`);
              security.recordEvent?.(principal, 'mqtt.connect', sessionQueueName(client.id), owned);
              return callback(refusal(5, owned, 0x87), false);
            }
            const settings: V5Settings | null = v5
              ? {
                  receiveMaximum: v5.receiveMaximum,
                  maximumPacketSize: v5.maximumPacketSize,
                  topicAliasMaximum: v5.topicAliasMaximum,
                  sessionExpirySec: v5.sessionExpirySec,
                }
              : null;
            const session = new Session(context, client as unknown as AedesClient, principal, settings);
            sessions.set(client, session);
            clientsById.set(client.id, client);
            // A reconnect within the session expiry interval: the countdown stops; a kept MQTT 5
            // session stores its interval, so it expires after a crash too.
            await expiry.resumed(client.id, v5 && !client.clean ? v5.sessionExpirySec : null);
            // A will held back for its will delay: dropped if this connection resumes the session.
            await willDelay.connected(client.id, v5 ? !v5.cleanStart : !client.clean);
            // [MQTT-3.1.2-4] Clean Start with a session expiry: the old session goes, a new one is kept.
            if (v5?.cleanStart && !client.clean)
              await persistence.cleanSubscriptions(client).catch((error: unknown) => {
                log.warn({ clientId: client.id, err: error }, 'mqtt: discarding the previous session failed');
              });
            // A persistent session belongs to the user who opened it (released when it is discarded).
            if (!client.clean) security.owners?.claim(sessionQueueName(client.id), principal);
            const handle = options.connections?.register(
              { protocol: 'mqtt', clientId: client.id, user: principal.user, address: remoteOf(client) ?? null },
              () => {
                // [MQTT-3.14.2.1] 0x98 administrative action (MQTT 5 only; 3.1.1 just closes).
                sendDisconnect(client, 0x98, 'disconnected by an administrator');
                client.close();
              },
            );
            if (handle) registered.set(client, handle);
            callback(null, true);
          },
          (error: unknown) => {
            const refused = toSluiceError(error);
            const code = refused.code === 'not-authenticated' ? 4 : 5;
            log.info({ clientId: client.id, err: error }, 'mqtt: authentication refused');
            callback(refusal(code, refused.message, refused.mapping.mqtt), false);
          },
        );
    },
    authorizePublish(client, packet, callback) {
      // aedes publishes a will through here when the connection ends (client.will is that packet).
      if (client && (client as unknown as { will?: unknown }).will === packet) {
        const held = holdWill(client, packet as unknown as AedesPacket, v5Connects, clientsById, willDelay);
        if (held !== 'now') return callback(new Error(`will ${held}`));
      }
      const refuse = (error: unknown): void => {
        const refused = toSluiceError(error);
        const will = packet as unknown as WillPacket;
        if (isWill(will)) {
          // A will its setter may not publish is dropped (and audited), not retried: aedes'
          // restart sweep would otherwise fail on it every round.
          const user = will[willUserField] ?? null;
          log.warn({ clientId: will.clientId, topic: will.topic, user }, 'mqtt: will refused');
          security.recordEvent?.(
            { user, protocol: 'mqtt', ...(will.clientId !== undefined && { clientId: will.clientId }) },
            'mqtt.will',
            packet.topic,
            refused.message,
          );
          callback(null); // Sluice's broker.publish only forwards $SYS: nothing goes out
          return;
        }
        if (client && isV5(client)) {
          // MQTT 5: PUBACK / PUBREC with the catalog's reason code and a reason string; QoS 0 is
          // dropped; the connection stays (the aedes patch writes it) [MQTT-3.4.2.1].
          log.info(
            { clientId: client.id, topic: packet.topic, code: refused.code, reason: refused.detail },
            `mqtt: publish refused (reason code 0x${refused.mapping.mqtt.toString(16)})`,
          );
          callback(Object.assign(new Error(refused.message), { reasonCode: refused.mapping.mqtt }));
          return;
        }
        // MQTT 3.1.1 has no negative PUBACK: the only answer is closing the connection.
        log.warn(
          { clientId: client?.id, topic: packet.topic, code: refused.code, reason: refused.detail },
          'mqtt: publish refused, closing the connection',
        );
        callback(refused);
      };
      try {
        publishToEngine(client, packet as unknown as AedesPacket, (error) => (error ? refuse(error) : callback(null)));
      } catch (error) {
        // Refused before reaching the engine (authorization, $SYS): answered after this returns, as the engine answers.
        queueMicrotask(() => refuse(error));
      }
    },
    authorizeSubscribe(client, subscription, callback) {
      const session = sessions.get(client);
      if (!session) return callback(null, null);
      const { nl, rap, subscriptionIdentifier } = subscription as typeof subscription & {
        nl?: boolean;
        rap?: boolean;
        subscriptionIdentifier?: number;
      };
      if (nl === true && isV5(client) && subscription.topic.startsWith(sharePrefix)) {
        // [MQTT-3.8.3-4] No Local on a shared subscription is a protocol error: DISCONNECT 0x82.
        log.info({ clientId: client.id, topic: subscription.topic }, 'mqtt: no local on a shared subscription');
        sendDisconnect(client, 0x82, 'no local is not allowed on a shared subscription');
        client.close();
        return callback(null, null);
      }
      session
        .subscribe(subscription.topic, subscription.qos as 0 | 1 | 2, {
          noLocal: nl === true,
          retainAsPublished: rap === true,
          ...(subscriptionIdentifier !== undefined && { subscriptionId: subscriptionIdentifier }),
        })
        .then(
          (granted) => callback(null, granted ? subscription : null),
          (error: unknown) => {
            const refused = toSluiceError(error);
            log.info(
              { clientId: client.id, topic: subscription.topic, code: refused.code, reason: refused.detail },
              `mqtt: subscription refused (SUBACK 0x${(isV5(client) ? refused.mapping.mqtt : 0x80).toString(16)})`,
            );
            // The aedes patch puts an MQTT 5 client's reason code in SUBACK (0x80 for 3.1.1).
            callback(null, { ...subscription, reasonCode: refused.mapping.mqtt } as typeof subscription);
          },
        );
    },
  });

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

  const expiry = new SessionExpiry(
    async (clientId) => {
      const queue = sessionQueueName(clientId);
      if (engine.queueByName(queue)) await engine.deleteQueue(queue, { force: true });
      await persistence.cleanSubscriptions({ id: clientId } as PersistenceClient);
      // The session ended before the will delay: its will is due [MQTT-3.1.2-8].
      await willDelay.sessionEnded(clientId);
    },
    (clientId) => clientsById.has(clientId),
    store,
    commit,
    log,
  );
  // Deadlines stored before a restart: expired sessions are discarded before anyone connects.
  await expiry.restore();
  const deadlines = new Map(store.loadSessionExpiries().map((row) => [row.clientId, row.expiresAt ?? undefined]));
  willDelay.restore(broker.id, (clientId) => deadlines.get(clientId));

  const stopWatchingRights = watchRights(security, sessions, (client, reason) => {
    log.info({ clientId: client.id }, `mqtt: disconnected, ${reason}`);
    sendDisconnect(client, 0x87, reason);
    client.close();
  });

  const closing = new Set<Promise<void>>();
  const endSession = (client: Client): void => {
    registered.get(client)?.closed();
    registered.delete(client);
    const session = sessions.get(client);
    if (!session) return;
    sessions.delete(client);
    if (clientsById.get(client.id) === client) clientsById.delete(client.id);
    const done = session
      .close()
      .then(() => {
        // MQTT 5: a kept session lives on for its session expiry interval, which DISCONNECT may
        // change (but not from 0 [MQTT-3.14.2-2]); a 3.1.1 persistent session never expires.
        // When the broker closes, the deadline is only stored: the next start counts it down.
        const v5 = session.v5;
        if (!v5 || client.clean) return;
        const asked = (client as unknown as PatchedClient).disconnectPacket?.properties?.sessionExpiryInterval;
        if (asked !== undefined && v5.sessionExpirySec > 0) v5.sessionExpirySec = asked;
        if (!clientsById.has(client.id)) return expiry.schedule(client.id, v5.sessionExpirySec);
      })
      .finally(() => closing.delete(done));
    closing.add(done);
  };
  broker.on('clientDisconnect', endSession);

  const listeners = await startListeners(config, (connection: Duplex, request?: IncomingMessage) => {
    const client = broker.handle(connection, request);
    limitPacketSize(client, config.maxPacketBytes);
    refuseInvalidUtf8(client);
    refuseEmptySubscribe(client);
    refuseForeignProperties(client);
    answerUnknownProtocolLevel(client);
    parsePublishesInPlace(client, config.maxPacketBytes);
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
      stopWatchingRights?.();
      expiry.close();
      willDelay.close();
      // [MQTT-3.14.2.1] MQTT 5 clients are told: 0x8B server shutting down.
      for (const client of sessions.keys()) sendDisconnect(client, 0x8b, 'server shutting down');
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await listeners.close();
      for (const client of [...sessions.keys()]) endSession(client);
      await Promise.all(closing);
    },
  };
}
