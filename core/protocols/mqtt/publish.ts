import type { Client } from 'aedes';
import type { ConnectionHandle } from '../../api/connections.ts';
import type { Engine } from '../../engine/engine.ts';
import type { PublishInput } from '../../engine/message.ts';
import { SluiceError } from '../../errors.ts';
import { authorize, type Principal, type SecurityPolicy } from '../../security/authorize.ts';
import type { EnginePersistence } from './engine-persistence.ts';
import type { AedesPacket, PersistenceClient } from './persistence.ts';
import {
  inboundFields,
  mqttQosHeader,
  mqttRetainHeader,
  retainedExpiresAtField,
  retainedProperties,
  type PublishProperties,
} from './properties.ts';
import type { Session } from './session.ts';
import { isWill, willUserField, type WillPacket } from './wills.ts';

/** The engine headers of an MQTT publish, one shared object per QoS (the engine copies headers). */
const qosHeaders = [0, 1, 2].map((qos) => Object.freeze({ [mqttQosHeader]: String(qos) })) as unknown as readonly [
  Readonly<Record<string, string>>,
  Readonly<Record<string, string>>,
  Readonly<Record<string, string>>,
];

/** The engine headers of a retained MQTT publish, per QoS. */
const retainedHeaders = qosHeaders.map((headers) =>
  Object.freeze({ ...headers, [mqttRetainHeader]: '1' }),
) as unknown as typeof qosHeaders;

/** What the publish path uses of the listener's state. */
export interface PublishWiring {
  readonly engine: Engine;
  readonly security: SecurityPolicy;
  /** Inbound QoS 2 state (a retransmitted PUBLISH) and the retained store. */
  readonly persistence: EnginePersistence;
  /** Registered connections: each PUBLISH counts in. */
  readonly registered: ReadonlyMap<Client, ConnectionHandle>;
  /** The session of a connected client (its principal publishes). */
  readonly sessionOf: (client: PersistenceClient | null) => Session | undefined;
}

/**
 * The listener's publish path, built once when it starts: `publishToEngine` is what aedes'
 * authorizePublish hook runs for every PUBLISH (and every will) before PUBACK / PUBREC.
 */
export function enginePublisher(
  wiring: PublishWiring,
): (client: Client | null, packet: AedesPacket, done: (error: Error | null) => void) => void {
  const { engine, security, persistence, registered, sessionOf } = wiring;

  /**
   * authorize → engine.publish (durable) → retained store; `done` is called once that is over, never
   * before this returns, and PUBACK/PUBREC follow only then. A refusal before the engine (authorization,
   * `$SYS`) is thrown.
   */
  function publishToEngine(client: Client | null, packet: AedesPacket, done: (error: Error | null) => void): void {
    const clientId = client?.id ?? packet.clientId;
    // A will goes out with the rights of the user who set it, whoever holds the client id now
    // (aedes' restart sweep passes no client, or the id's current one); a will stored before
    // owners were recorded has none: it is anonymous, which has no rights unless anonymous is on.
    const willUser = (packet as WillPacket)[willUserField];
    const principal: Principal = isWill(packet)
      ? { user: willUser ?? null, protocol: 'mqtt', ...(clientId !== undefined && { clientId }) }
      : (sessionOf(client)?.principal ?? { user: null, protocol: 'mqtt', ...(clientId !== undefined && { clientId }) });
    if (packet.topic.startsWith('$SYS')) throw new SluiceError('not-authorized', '$SYS topics are reserved');
    authorize(principal, 'publish', packet.topic, security);
    if (client) registered.get(client)?.countIn();
    const qos = (packet.qos ?? 0) as 0 | 1 | 2;
    // The common case, QoS 0/1 without retain, costs no promise: the engine answers `done` after its commit.
    if (qos < 2 && !packet.retain) return engine.publishThen(engineInput(clientId, packet, qos), done);
    publishSlow(client, clientId, packet, qos).then(() => done(null), done);
  }

  async function publishSlow(
    client: Client | null,
    clientId: string | undefined,
    packet: AedesPacket,
    qos: 0 | 1 | 2,
  ): Promise<void> {
    // [MQTT-4.3.3-2] a retransmitted QoS 2 PUBLISH whose PUBREL is pending was already accepted.
    if (qos === 2 && client && (await persistence.incomingGetPacket(client, packet).then(Boolean, () => false))) return;
    await engine.publish(engineInput(clientId, packet, qos));
    if (packet.retain) {
      const published = (packet as { properties?: PublishProperties }).properties;
      const properties = retainedProperties(published);
      const expirySec = published?.messageExpiryInterval;
      await persistence.storeRetained({
        cmd: 'publish',
        topic: packet.topic,
        payload: packet.payload,
        qos,
        retain: true,
        ...(properties && { properties }),
        // [MQTT-3.3.2-5] the retained copy expires with the message (see EnginePersistence).
        ...(expirySec !== undefined && { [retainedExpiresAtField]: Date.now() + expirySec * 1000 }),
      });
    }
  }

  /** What the engine publishes for `packet`. */
  function engineInput(clientId: string | undefined, packet: AedesPacket, qos: 0 | 1 | 2): PublishInput {
    const { topic, payload } = packet;
    const headers = (packet.retain ? retainedHeaders : qosHeaders)[qos];
    const properties = (packet as { properties?: PublishProperties }).properties;
    if (properties) {
      // MQTT 5 properties → engine fields and headers (properties.ts).
      const fields = inboundFields(properties, payload, headers);
      return clientId === undefined
        ? { ...fields, topic, payload, protocol: 'mqtt' }
        : { ...fields, topic, payload, protocol: 'mqtt', publisher: clientId };
    }
    return clientId === undefined
      ? { topic, payload, protocol: 'mqtt', headers }
      : { topic, payload, protocol: 'mqtt', headers, publisher: clientId };
  }

  return publishToEngine;
}
