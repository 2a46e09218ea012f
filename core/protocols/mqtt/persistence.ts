import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { MqttPersistenceStore, StoredPacket } from '../../store/mqtt-persistence-store.ts';
import type { Tx } from '../../store/store.ts';

/** A packet as aedes hands it to its persistence. */
export interface AedesPacket {
  cmd?: string;
  topic: string;
  payload: Buffer;
  qos?: number;
  retain?: boolean;
  messageId?: number;
  brokerId?: string;
  clientId?: string;
  [field: string]: unknown;
}

/** A subscription as aedes hands it to its persistence. */
export interface AedesSubscription {
  topic: string;
  qos: number;
  [option: string]: unknown;
}

/** The part of an aedes client the persistence looks at. */
export interface PersistenceClient {
  readonly id: string;
}

/** aedes-persistence's async interface (types/asyncPersistence.d.ts), as Sluice uses it. */
interface MemoryPersistenceInstance {
  setup(broker: { id: string }): Promise<void>;
  storeRetained(packet: AedesPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: PersistenceClient, subs: AedesSubscription[]): Promise<void>;
  removeSubscriptions(client: PersistenceClient, topics: string[]): Promise<void>;
  subscriptionsByClient(client: PersistenceClient): Promise<AedesSubscription[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>>;
  cleanSubscriptions(client: PersistenceClient): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void>;
  outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AedesPacket): Promise<void>;
  outgoingUpdate(client: PersistenceClient, packet: AedesPacket): Promise<void>;
  outgoingClearMessageId(client: PersistenceClient, packet: { messageId?: number }): Promise<AedesPacket | undefined>;
  outgoingStream(client: PersistenceClient): Readable;
  incomingStorePacket(client: PersistenceClient, packet: AedesPacket): Promise<void>;
  incomingGetPacket(client: PersistenceClient, packet: { messageId?: number }): Promise<AedesPacket>;
  incomingDelPacket(client: PersistenceClient, packet: { messageId?: number }): Promise<void>;
  cleanIncoming(client: PersistenceClient): Promise<void>;
  putWill(client: PersistenceClient, packet: AedesPacket): Promise<void>;
  getWill(client: PersistenceClient): Promise<AedesPacket | undefined>;
  delWill(client: PersistenceClient): Promise<AedesPacket | undefined>;
  streamWill(brokers?: Record<string, unknown>): Readable;
  getClientList(topic: string): Readable;
  destroy(): Promise<void>;
}

// aedes-persistence is CommonJS and exports its in-memory implementation without types we can use.
const MemoryPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as new (
  options?: object,
) => MemoryPersistenceInstance;

/** Field of a will held back by its MQTT 5 will delay interval: when it is due (ms since the epoch). */
export const willPublishAtField = 'sluicePublishAt';

/** Runs a write in one durable transaction: the engine's group commit, or the store's own. */
export type Committer = <T>(work: (tx: Tx) => T) => Promise<T>;

/**
 * aedes persistence on the core SQLite store (not aedes' in-memory default). Writes go to SQLite
 * first (durable when the promise resolves), then to the in-memory indexes inherited from
 * aedes-persistence's own implementation, which answer every read; `setup` reloads those
 * indexes from SQLite. Passes aedes-persistence's abstract suite (test/unit/mqtt-persistence.test.ts).
 */
export class SqlitePersistence extends MemoryPersistence {
  /** Wills keep the id of the broker that stored them, so a restarted broker publishes the old ones. */
  private readonly wills = new Map<string, AedesPacket>();
  protected broker: { id: string } | null = null;

  constructor(
    protected readonly store: MqttPersistenceStore,
    protected readonly commit: Committer,
  ) {
    super();
  }

  override async setup(broker: { id: string }): Promise<void> {
    await super.setup(broker);
    this.broker = broker;
    // Reload the in-memory indexes through the base class only: nothing is written back.
    for (const stored of this.store.loadRetained()) await super.storeRetained(fromStored(stored));
    const byClient = new Map<string, AedesSubscription[]>();
    for (const { clientId, topic, options } of this.store.loadSubscriptions()) {
      const list = byClient.get(clientId) ?? [];
      list.push({ ...options, topic, qos: Number(options.qos ?? 0) });
      byClient.set(clientId, list);
    }
    for (const [id, subs] of byClient) await super.addSubscriptions({ id }, subs);
    for (const { clientId, packet } of this.store.loadOutgoing()) {
      const restored = fromStored(packet);
      await super.outgoingEnqueue({ clientId }, restored);
      if (restored.messageId !== undefined) await super.outgoingUpdate({ id: clientId }, restored).catch(() => {});
    }
    for (const { clientId, messageId, packet } of this.store.loadIncoming())
      await super.incomingStorePacket({ id: clientId }, { ...fromStored(packet), messageId });
    for (const { clientId, packet } of this.store.loadWills()) this.wills.set(clientId, fromStored(packet));
  }

  // ── retained ───────────────────────────────────────────────────────────────────────
  override async storeRetained(packet: AedesPacket): Promise<void> {
    // [MQTT-3.3.1-10] a zero-byte retained message removes the retained one.
    await this.commit((tx) =>
      packet.payload.length === 0
        ? this.store.deleteRetained(tx, packet.topic)
        : this.store.putRetained(tx, packet.topic, toStored(packet)),
    );
    await super.storeRetained(packet);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────
  override async addSubscriptions(client: PersistenceClient, subs: AedesSubscription[]): Promise<void> {
    await this.commit((tx) => {
      for (const { topic, ...options } of subs) this.store.putSubscription(tx, { clientId: client.id, topic, options });
    });
    await super.addSubscriptions(client, subs);
  }

  override async removeSubscriptions(client: PersistenceClient, topics: string[]): Promise<void> {
    await this.commit((tx) => {
      for (const topic of topics) this.store.deleteSubscription(tx, client.id, topic);
    });
    await super.removeSubscriptions(client, topics);
  }

  override async cleanSubscriptions(client: PersistenceClient): Promise<void> {
    await this.commit((tx) => this.store.deleteSubscriptionsOf(tx, client.id));
    await super.cleanSubscriptions(client);
  }

  // ── outgoing: the in-memory list is authoritative, each change rewrites the client's rows ─
  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    await super.outgoingEnqueue(sub, packet);
    await this.saveOutgoing([sub.clientId]);
  }

  override async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: AedesPacket): Promise<void> {
    await super.outgoingEnqueueCombi(subs, packet);
    await this.saveOutgoing(subs.map((s) => s.clientId));
  }

  override async outgoingUpdate(client: PersistenceClient, packet: AedesPacket): Promise<void> {
    await super.outgoingUpdate(client, packet);
    await this.saveOutgoing([client.id]);
  }

  override async outgoingClearMessageId(
    client: PersistenceClient,
    packet: { messageId?: number },
  ): Promise<AedesPacket | undefined> {
    const cleared = await super.outgoingClearMessageId(client, packet);
    if (cleared) await this.saveOutgoing([client.id]);
    return cleared;
  }

  private async saveOutgoing(clientIds: string[]): Promise<void> {
    const lists = await Promise.all(
      [...new Set(clientIds)].map(async (id) => ({
        id,
        packets: ((await super.outgoingStream({ id }).toArray()) as AedesPacket[]).map(toStored),
      })),
    );
    await this.commit((tx) => {
      for (const { id, packets } of lists) this.store.replaceOutgoing(tx, id, packets);
    });
  }

  // ── incoming QoS 2 ─────────────────────────────────────────────────────────────────
  override async incomingStorePacket(client: PersistenceClient, packet: AedesPacket): Promise<void> {
    const messageId = packet.messageId ?? 0;
    await this.commit((tx) => this.store.putIncoming(tx, client.id, messageId, toStored(packet)));
    await super.incomingStorePacket(client, packet);
  }

  override async incomingDelPacket(client: PersistenceClient, packet: { messageId?: number }): Promise<void> {
    await super.incomingDelPacket(client, packet);
    await this.commit((tx) => this.store.deleteIncoming(tx, client.id, packet.messageId ?? 0));
  }

  override async cleanIncoming(client: PersistenceClient): Promise<void> {
    await this.commit((tx) => this.store.deleteIncomingOf(tx, client.id));
    await super.cleanIncoming(client);
  }

  // ── wills ──────────────────────────────────────────────────────────────────────────
  override async putWill(client: PersistenceClient, packet: AedesPacket): Promise<void> {
    packet.brokerId = this.broker?.id;
    packet.clientId = client.id;
    await this.commit((tx) => this.store.putWill(tx, client.id, toStored(packet)));
    this.wills.set(client.id, packet);
  }

  override async getWill(client: PersistenceClient): Promise<AedesPacket | undefined> {
    return this.wills.get(client.id);
  }

  override async delWill(client: PersistenceClient): Promise<AedesPacket | undefined> {
    const will = this.wills.get(client.id);
    // A will waiting for its will delay interval is WillDelay's to publish or drop (will-delay.ts).
    if (!will || will[willPublishAtField] !== undefined) return undefined;
    await this.commit((tx) => this.store.deleteWill(tx, client.id));
    this.wills.delete(client.id);
    return will;
  }

  override streamWill(brokers: Record<string, unknown> = {}): Readable {
    return Readable.from(
      [...this.wills.values()].filter(
        (will) => !brokers[String(will.brokerId)] && will[willPublishAtField] === undefined,
      ),
    );
  }

  /** Every stored will, by client id (for WillDelay's start-up). */
  storedWills(): ReadonlyMap<string, AedesPacket> {
    return this.wills;
  }

  /**
   * MQTT 5 will delay: the will of `clientId` is kept, to be published at `publishAt` (ms since the
   * epoch) by WillDelay; stored so that a restart keeps the deadline.
   */
  async deferWill(clientId: string, will: AedesPacket, publishAt: number): Promise<void> {
    will[willPublishAtField] = publishAt;
    this.wills.set(clientId, will);
    await this.commit((tx) => this.store.putWill(tx, clientId, toStored(will)));
  }

  /**
   * Takes a deferred will out (it is being published or dropped): gone from memory at once, and from
   * SQLite unless a newer will of the same client replaced it meanwhile.
   */
  async releaseWill(clientId: string, will: AedesPacket): Promise<void> {
    if (this.wills.get(clientId) === will) this.wills.delete(clientId);
    const publishAt = will[willPublishAtField];
    await this.commit((tx) => {
      if (this.store.loadWill(clientId)?.fields[willPublishAtField] === publishAt) this.store.deleteWill(tx, clientId);
    });
  }
}

function toStored(packet: AedesPacket): StoredPacket {
  const { payload, ...fields } = packet;
  return { fields, payload: typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload ?? []) };
}

function fromStored(stored: StoredPacket): AedesPacket {
  return { ...stored.fields, topic: String(stored.fields.topic ?? ''), payload: stored.payload };
}
