import { Readable } from 'node:stream';
import type { MqttPersistenceStore } from '../../store/mqtt-persistence-store.ts';
import { SqlitePersistence, type AedesPacket, type Committer, type PersistenceClient } from './persistence.ts';
import { unexpiredRetained } from './properties.ts';
import type { Session } from './session.ts';
import { willUserField, type WillPacket } from './wills.ts';

/**
 * The broker's persistence: SQLite for retained messages, subscriptions, wills and inbound QoS 2,
 * while aedes' outgoing store is replaced by engine queues (DESIGN.md: MQTT sessions are queues):
 * nothing is enqueued or replayed by aedes, and PUBACK/PUBCOMP settle the engine delivery.
 */
export class EnginePersistence extends SqlitePersistence {
  constructor(
    store: MqttPersistenceStore,
    commit: Committer,
    private readonly sessionOf: (client: PersistenceClient) => Session | undefined,
    /** The persistent session of this client id is gone: its owner record goes too. */
    private readonly released: (clientId: string) => void,
  ) {
    super(store, commit);
  }

  /** A will remembers who set it: it is published with that user's rights, also after a crash. */
  override async putWill(client: PersistenceClient, packet: AedesPacket): Promise<void> {
    (packet as WillPacket)[willUserField] = this.sessionOf(client)?.principal.user ?? null;
    await super.putWill(client, packet);
  }

  override async outgoingEnqueue(): Promise<void> {}
  override async outgoingEnqueueCombi(): Promise<void> {}
  override async outgoingUpdate(): Promise<void> {}
  override outgoingStream(): Readable {
    return Readable.from([]);
  }
  override outgoingClearMessageId(
    client: PersistenceClient,
    packet: { cmd?: string; messageId?: number; reasonCode?: number; properties?: { reasonString?: string } },
  ): Promise<AedesPacket | undefined> {
    // PUBACK / PUBREC from an MQTT 5 client may refuse the message (reason code >= 0x80); a
    // PUBCOMP's only failure (0x92, packet id not found) follows a successful PUBREC: an ack.
    const refusing = packet.cmd === 'puback' || packet.cmd === 'pubrec';
    this.sessionOf(client)?.acknowledged(
      packet.messageId,
      refusing ? (packet.reasonCode ?? 0) : 0,
      packet.properties?.reasonString,
    );
    return Promise.resolve(packet as AedesPacket);
  }

  /**
   * Retained messages for a new subscription: an expired one is no longer sent [MQTT-3.3.2-5], the
   * others carry their remaining lifetime in whole seconds [MQTT-3.3.2-6].
   */
  override createRetainedStreamCombi(patterns: string[]): Readable {
    return super.createRetainedStreamCombi(patterns).flatMap((packet: AedesPacket) => unexpiredRetained(packet));
  }
  override createRetainedStream(pattern: string): Readable {
    return super.createRetainedStream(pattern).flatMap((packet: AedesPacket) => unexpiredRetained(packet));
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
    this.released(client.id);
  }
}
