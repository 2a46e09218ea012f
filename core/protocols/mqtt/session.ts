import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Consumer, Delivery } from '../../engine/consumer.ts';
import type { Engine } from '../../engine/engine.ts';
import type { Message } from '../../engine/message.ts';
import { assertTopicFilter, topicMatches } from '../../schema/topic.ts';
import { SluiceError } from '../../errors.ts';
import { authorize, type Principal, type SecurityPolicy } from '../../security/authorize.ts';
import type { MqttConfig } from './config.ts';
import { encodeProperties, mqttQosHeader, mqttRetainHeader, outboundProperties } from './properties.ts';

export { mqttQosHeader } from './properties.ts';

/** Subscriptions to `$queue/<name>` consume the named engine queue. */
export const queuePrefix = '$queue/';
/** Subscriptions to `$share/<group>/<filter>` share an engine queue among the group's members. */
export const sharePrefix = '$share/';

/** The part of an aedes Client a session drives (node_modules/aedes/lib/client.js). */
export interface AedesClient {
  readonly id: string;
  readonly clean: boolean;
  readonly closed: boolean;
  /** aedes writes only while connecting or connected (lib/write.js); so does the session. */
  readonly connecting: boolean;
  readonly connected: boolean;
  /** The client's connection (socket, TLS socket or WebSocket stream). */
  readonly conn: Duplex;
  /** aedes' packet identifier counter, shared with its own deliveries so ids never collide. */
  _nextId: number;
  /** Protocol level of the CONNECT: 3, 4 (3.1.1) or 5. */
  readonly version: number | null;
}

/** What an MQTT 5 client asked for in its CONNECT (§3.1.2.11). */
export interface V5Settings {
  /** QoS 1/2 PUBLISHes it accepts unacknowledged at once [MQTT-3.3.4-7]. */
  readonly receiveMaximum: number;
  /** Largest packet it accepts; a larger delivery is dead-lettered instead of sent [MQTT-3.1.2-24]. */
  readonly maximumPacketSize: number;
  /** Topic aliases it accepts from the broker (0: none) [MQTT-3.1.2-26]. */
  readonly topicAliasMaximum: number;
  /** Seconds the session outlives the connection (0: ends with it, 0xFFFFFFFF: never expires). */
  sessionExpirySec: number;
}

/** MQTT 5 subscription options (§3.8.3.1) and subscription identifier (§3.8.2.1.2). */
export interface SubscriptionOptions {
  /** No local: messages this client published are not sent back to it [MQTT-3.8.3-3]. */
  readonly noLocal: boolean;
  /** Retain as published: keep RETAIN on forwarded messages [MQTT-3.3.1-12]. */
  readonly retainAsPublished: boolean;
  /** Sent back in each PUBLISH this subscription matches [MQTT-3.3.4-3]. */
  readonly subscriptionId?: number;
}

const defaultOptions: SubscriptionOptions = { noLocal: false, retainAsPublished: false };

/** A PUBLISH Sluice sends. */
export interface OutgoingPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  /** MQTT 5 only: the encoded properties (`encodeProperties`); absent for 3.1.1 clients. */
  properties?: Buffer;
}

type Qos = 0 | 1 | 2;

/** How one MQTT subscription is served by the engine. */
type Binding =
  /** Clean session: a live engine listener (not durable). */
  | { readonly kind: 'live'; readonly filter: string; qos: Qos; options: SubscriptionOptions }
  /** Persistent session: a filter of the session's queue `mqtt/<clientId>`. */
  | { readonly kind: 'session'; readonly filter: string; qos: Qos; options: SubscriptionOptions }
  /** `$queue/<name>` or `$share/<group>/<filter>`: a consumer on an engine queue. */
  | {
      readonly kind: 'queue';
      readonly queue: string;
      qos: Qos;
      options: SubscriptionOptions;
      consumer: Consumer | null;
    };

/** What every session shares. */
export interface SessionContext {
  readonly engine: Engine;
  readonly config: MqttConfig;
  readonly logger: Logger;
  readonly security: SecurityPolicy;
  /** Counters across sessions. */
  readonly counters: { liveDropped: number };
}

/**
 * One MQTT connection's view of the engine (DESIGN.md: MQTT sessions are queues). Clean
 * sessions tap the live flow; persistent sessions consume their queue `mqtt/<clientId>`;
 * `$queue/` and `$share/` subscriptions consume engine queues. Every PUBLISH to the client
 * goes through `send` (STYLE.md §11: aedes is wrapped at one boundary), and PUBACK/PUBCOMP
 * settle the engine delivery through `acknowledged`.
 */
export class Session {
  private readonly bindings = new Map<string, Binding>();
  private stopLive: (() => void) | null = null;
  private sessionConsumer: Consumer | null = null;
  /** Packet id → the queue delivery it carries, until PUBACK/PUBCOMP. */
  private readonly pending = new Map<number, { consumer: Consumer; deliveryId: number }>();
  /** Session-queue updates run one at a time (a SUBSCRIBE's filters are handled in parallel). */
  private queueUpdates: Promise<unknown> = Promise.resolve();
  /** Live messages written but not yet flushed to the socket. */
  private liveBuffered = 0;
  /** PUBLISHes to write at the end of this tick, in order, as one socket write (see `send`). */
  private outbox: OutgoingPacket[] = [];
  /** Their write callbacks (null: nothing to do), index for index. */
  private outboxWritten: Array<(() => void) | null> = [];
  private flushScheduled = false;
  /** Live delivery QoS per topic for the current live bindings (cleared when they change). */
  private readonly liveQosByTopic = new Map<string, Qos | null>();
  /** MQTT 5: live QoS 1/2 packet ids awaiting PUBACK/PUBCOMP, counted against receive maximum. */
  private readonly liveInFlight = new Set<number>();
  /** MQTT 5: live messages waiting for the receive window (bounded by maxQueuedPerClient). */
  private liveWaiting: Array<{ message: Message; qos: Qos; retain: boolean; ids: number[] }> = [];
  /**
   * MQTT 5: queue deliveries waiting for the receive window. Each consumer's prefetch is the
   * window, so one kind alone never waits here; a client with several (session queue, `$queue/`,
   * `$share/`, live) does, so that all of them together stay within its receive maximum
   * [MQTT-3.3.4-9]. Bounded by prefetch × consumers; released with the consumers on close.
   */
  private queuedWaiting: Array<{ consumer: Consumer; delivery: Delivery; qos: Qos; retain: boolean; ids: number[] }> =
    [];
  /** MQTT 5: topic → the alias this connection's PUBLISHes use for it (outbound topic aliases). */
  private readonly topicAliases = new Map<string, number>();
  private started = false;
  private closed = false;

  constructor(
    private readonly context: SessionContext,
    readonly client: AedesClient,
    readonly principal: Principal,
    /** Set for MQTT 5 clients: what their CONNECT asked for. */
    readonly v5: V5Settings | null = null,
  ) {}

  /** Unacknowledged QoS 1/2 deliveries allowed: the config's, lowered by an MQTT 5 receive maximum. */
  private get window(): number {
    return Math.min(this.context.config.maxInFlightPerClient, this.v5?.receiveMaximum ?? Infinity);
  }

  /** The engine queue behind this client's persistent session. */
  get queueName(): string {
    return sessionQueueName(this.client.id);
  }

  /**
   * Binds one subscription to the engine. Resolves false when it is refused (SUBACK 0x80):
   * unknown queue, invalid share name, not authorized.
   */
  async subscribe(topic: string, qos: Qos, options: SubscriptionOptions = defaultOptions): Promise<boolean> {
    if (this.closed) return false;
    const { engine, security } = this.context;
    const existing = this.bindings.get(topic);
    if (existing) {
      existing.qos = qos;
      existing.options = options;
      this.liveQosByTopic.clear();
      return true;
    }
    if (topic.startsWith(queuePrefix)) {
      const queue = topic.slice(queuePrefix.length);
      authorize(this.principal, 'consume', queue, security);
      if (!engine.queueByName(queue)) throw new SluiceError('queue-not-found', `Queue "${queue}" does not exist`);
      this.addQueueBinding(topic, queue, qos, options);
      return true;
    }
    if (topic.startsWith(sharePrefix)) {
      const { group, filter } = parseShare(topic);
      authorize(this.principal, 'subscribe', filter, security);
      const queue = sharedQueueName(group, filter);
      const owners = security.owners;
      if (owners && !engine.queueByName(queue)) {
        // A `$share` queue is durable and outlives its creator's connection: each user may
        // create a bounded number (docs/security.md); joining an existing group is free.
        const exists = (name: string) => engine.queueByName(name) !== undefined;
        if (owners.countOwned(this.principal.user, sharedQueuePrefix, exists) >= owners.maxSharedQueuesPerUser)
          throw new SluiceError(
            'not-authorized',
            `at most ${owners.maxSharedQueuesPerUser} $share queues per user (config security.maxSharedQueuesPerUser)`,
          );
        owners.claim(queue, this.principal);
      }
      await engine.ensureQueue(queue, {
        ...this.context.config.sharedSubscriptionQueue,
        subscriptions: [filter],
        accessType: 'non-exclusive',
      });
      this.addQueueBinding(topic, queue, qos, options);
      return true;
    }
    assertTopicFilter(topic);
    authorize(this.principal, 'subscribe', topic, security);
    if (this.client.clean) {
      this.bindings.set(topic, { kind: 'live', filter: topic, qos, options });
      this.relisten();
      return true;
    }
    await this.updateSessionQueue([topic], []);
    this.bindings.set(topic, { kind: 'session', filter: topic, qos, options });
    if (this.started) this.attachSessionConsumer();
    return true;
  }

  /** Removes subscriptions (UNSUBSCRIBE); a persistent session's queue stops collecting them. */
  async unsubscribe(topics: readonly string[]): Promise<void> {
    const sessionFilters: string[] = [];
    const closing: Promise<void>[] = [];
    let live = false;
    for (const topic of topics) {
      const binding = this.bindings.get(topic);
      if (!binding) continue;
      this.bindings.delete(topic);
      if (binding.kind === 'live') live = true;
      else if (binding.kind === 'session') sessionFilters.push(binding.filter);
      else if (binding.consumer) closing.push(binding.consumer.close());
    }
    if (live) this.relisten();
    if (sessionFilters.length > 0) await this.updateSessionQueue([], sessionFilters);
    await Promise.all(closing);
  }

  /** [MQTT-3.1.2-6] A clean session discards the previous persistent session: its queue goes. */
  async discardPersistentSession(): Promise<void> {
    const { engine } = this.context;
    if (engine.queueByName(this.queueName)) {
      await engine.deleteQueue(this.queueName, { force: true });
      this.context.logger.info({ clientId: this.client.id }, 'mqtt: clean session discarded the persistent session');
    }
  }

  /**
   * DESIGN.md: rights are live. The first subscription the principal may no longer have (after
   * its roles changed), or undefined when every one is still allowed.
   */
  revokedSubscription(): string | undefined {
    const { security } = this.context;
    for (const [topic, binding] of this.bindings) {
      const allowed =
        binding.kind === 'queue'
          ? topic.startsWith(queuePrefix)
            ? security.allows(this.principal, 'consume', binding.queue)
            : security.allows(this.principal, 'subscribe', parseShare(topic).filter)
          : security.allows(this.principal, 'subscribe', binding.filter);
      if (!allowed) return topic;
    }
    return undefined;
  }

  /** After CONNACK: queue deliveries may flow (never before CONNACK [MQTT-3.2.0-1]). */
  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    if (!this.client.clean && this.context.engine.queueByName(this.queueName)) this.attachSessionConsumer();
    for (const binding of this.bindings.values()) if (binding.kind === 'queue') this.attachQueueConsumer(binding);
  }

  /** The connection ended: live taps stop, consumers detach and their unacknowledged deliveries are redelivered. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopLive?.();
    this.stopLive = null;
    const consumers = [
      this.sessionConsumer,
      ...[...this.bindings.values()].map((b) => (b.kind === 'queue' ? b.consumer : null)),
    ];
    this.sessionConsumer = null;
    this.pending.clear();
    this.liveInFlight.clear();
    this.liveWaiting = [];
    this.queuedWaiting = [];
    // DESIGN.md: release (redeliver) = disconnect before ack; the attempt counts toward max redelivery.
    await Promise.all(consumers.map((c) => c?.close().catch((error) => this.logError(error, 'detaching consumer'))));
  }

  /**
   * PUBACK (QoS 1) or PUBCOMP (QoS 2) for `messageId` arrived, or from an MQTT 5 client a PUBACK /
   * PUBREC with a failure reason code: the delivery is rejected, so it goes to the DMQ with the
   * reason string kept (DESIGN.md: reject → DMQ is MQTT 5 PUBACK with reason ≥ 0x80).
   */
  acknowledged(messageId: number | undefined, reasonCode = 0, reasonString?: string): void {
    if (messageId === undefined) return;
    if (this.liveInFlight.delete(messageId)) {
      this.drainWaiting();
      return;
    }
    const held = this.pending.get(messageId);
    if (!held) return;
    this.pending.delete(messageId);
    if (reasonCode >= 0x80) {
      const reason = reasonString ?? `rejected by the subscriber with reason code 0x${reasonCode.toString(16)}`;
      this.context.logger.info({ clientId: this.client.id, reasonCode, reason }, 'mqtt: subscriber rejected a message');
      held.consumer.reject(held.deliveryId, reason).catch((error) => this.logError(error, 'rejecting a delivery'));
    } else held.consumer.ack(held.deliveryId).catch((error) => this.logError(error, 'acking a delivery'));
    this.drainWaiting();
  }

  // ── engine → client ────────────────────────────────────────────────────────────────
  private readonly onLive = (message: Message): void => {
    if (this.closed) return;
    if (this.v5) return this.onLiveV5(message);
    const qos = this.liveQos(message);
    if (qos === null) return;
    // Backpressure for live flow: a client that cannot keep up loses live messages, counted,
    // instead of the broker buffering without bound (DESIGN.md: backpressure, not unbounded memory).
    if (this.liveBuffered >= this.context.config.maxQueuedPerClient) {
      this.context.counters.liveDropped++;
      return;
    }
    this.liveBuffered++;
    const packet: OutgoingPacket = {
      cmd: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos,
      retain: false,
      dup: false,
    };
    // Live QoS 1/2 to a clean session is fire-and-forget on the broker side, as in aedes: the
    // packet id only has to be unique among what this client has not acknowledged.
    if (qos > 0) packet.messageId = this.nextMessageId();
    this.send(packet, this.liveWritten);
  };

  private readonly liveWritten = (): void => {
    this.liveBuffered--;
  };

  /** MQTT 5: subscription options, identifiers and properties; QoS 1/2 wait for the receive window. */
  private onLiveV5(message: Message): void {
    const match = matchBindings(message, this.bindings.values(), 'live', this.client.id);
    if (match.qos === null) return;
    if (match.qos > 0 && this.inFlight >= this.window) {
      // [MQTT-3.3.4-9] no more unacknowledged QoS 1/2 PUBLISHes than the client's receive maximum.
      if (this.liveWaiting.length >= this.context.config.maxQueuedPerClient) this.context.counters.liveDropped++;
      else this.liveWaiting.push({ message, qos: match.qos, retain: match.retain, ids: match.ids });
      return;
    }
    this.sendLiveV5(message, match.qos, match.retain, match.ids);
  }

  private sendLiveV5(message: Message, qos: Qos, retain: boolean, ids: number[]): void {
    if (this.liveBuffered >= this.context.config.maxQueuedPerClient) {
      this.context.counters.liveDropped++;
      return;
    }
    const packet: OutgoingPacket = {
      cmd: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos,
      retain,
      dup: false,
    };
    // [MQTT-3.3.2-5] an expired message is not sent; [MQTT-3.1.2-25] nor a too large one: both
    // are discarded as if sent, the latter counted with the live drops.
    const refusal = this.addProperties(packet, message, ids);
    if (refusal !== null) {
      if (packet.properties) this.context.counters.liveDropped++;
      return;
    }
    if (qos > 0) {
      packet.messageId = this.nextMessageId();
      this.liveInFlight.add(packet.messageId);
    }
    this.liveBuffered++;
    this.send(packet, this.liveWritten);
  }

  /** Unacknowledged QoS 1/2 PUBLISHes to this client, queue and live together. */
  private get inFlight(): number {
    return this.pending.size + this.liveInFlight.size;
  }

  /** A slot of the receive window is free: queue deliveries first (they hold engine state), then live ones. */
  private drainWaiting(): void {
    while (this.queuedWaiting.length > 0 && this.inFlight < this.window) {
      const next = this.queuedWaiting.shift()!;
      // A consumer closed meanwhile (UNSUBSCRIBE) released its deliveries: they are not ours to send.
      if (next.consumer.closed) continue;
      this.deliverQueued(next.consumer, next.delivery, next.qos, next.retain, next.ids);
    }
    while (this.liveWaiting.length > 0 && this.inFlight < this.window) {
      const next = this.liveWaiting.shift()!;
      this.sendLiveV5(next.message, next.qos, next.retain, next.ids);
    }
  }

  /** min(publish QoS, best matching live subscription QoS), cached per topic. */
  private liveQos(message: Message): Qos | null {
    let best = this.liveQosByTopic.get(message.topic);
    if (best === undefined) {
      best = deliveryQos(null, this.bindings.values(), 'live', message.topic);
      // Topics are unbounded; the cache is not.
      if (this.liveQosByTopic.size >= 1024) this.liveQosByTopic.clear();
      this.liveQosByTopic.set(message.topic, best);
    }
    return best === null ? null : (Math.min(best, messageQos(message)) as Qos);
  }

  private deliverQueued(consumer: Consumer, delivery: Delivery, qos: Qos, retain = false, ids: number[] = []): void {
    if (this.closed) return;
    if (this.v5 && qos > 0 && this.inFlight >= this.window) {
      // [MQTT-3.3.4-9] the receive maximum counts every kind of subscription together.
      this.queuedWaiting.push({ consumer, delivery, qos, retain, ids });
      return;
    }
    const { message } = delivery;
    const packet: OutgoingPacket = {
      cmd: 'publish',
      topic: message.topic,
      payload: message.payload,
      qos,
      retain,
      // [MQTT-3.3.1-1] DUP marks a redelivery of a message the client may have seen; never on
      // QoS 0 [MQTT-3.3.1-2] (3.1.1 and 5).
      dup: qos > 0 && delivery.deliveryCount > 1,
    };
    if (this.v5) {
      const refusal = this.addProperties(packet, message, ids);
      if (refusal !== null) {
        consumer.reject(delivery.deliveryId, refusal).catch((error) => this.logError(error, 'rejecting a delivery'));
        return;
      }
    }
    if (qos === 0) {
      // At most once: settled as soon as it is written.
      this.send(packet, () => {
        consumer.ack(delivery.deliveryId).catch((error) => this.logError(error, 'acking a QoS 0 delivery'));
      });
      return;
    }
    packet.messageId = this.nextMessageId();
    this.pending.set(packet.messageId, { consumer, deliveryId: delivery.deliveryId });
    this.send(packet, null);
  }

  /**
   * The one place a PUBLISH leaves for the client. Deliveries arrive in bursts (all the messages
   * of one group commit, synchronously), so they are gathered until the end of the tick and
   * written as one buffer: one socket write (one syscall) per commit and client instead of one
   * per message through aedes' deliverQoS (setImmediate + a corked write per packet).
   * `written` runs once the bytes are flushed to the connection (or the write failed).
   */
  private send(packet: OutgoingPacket, written: (() => void) | null): void {
    this.outbox.push(packet);
    this.outboxWritten.push(written);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushOutbox);
  }

  private readonly flushOutbox = (): void => {
    this.flushScheduled = false;
    const packets = this.outbox;
    const callbacks = this.outboxWritten;
    this.outbox = [];
    this.outboxWritten = [];
    const done = (): void => {
      for (const callback of callbacks) callback?.();
    };
    const { client } = this;
    const conn = client.conn;
    // As aedes' write(): nothing goes out on a connection that is not (or no longer) up.
    if (!(client.connecting || client.connected) || conn.destroyed || !conn.writable) {
      setImmediate(done);
      return;
    }
    try {
      conn.write(encodePublishes(packets), done);
    } catch (error) {
      this.logError(error, 'writing deliveries');
      setImmediate(done);
    }
  };

  /** MQTT 5: adds the message's properties; returns why it cannot be sent, or null. */
  private addProperties(packet: OutgoingPacket, message: Message, ids: number[]): string | null {
    const properties = outboundProperties(message, ids);
    if (properties === null) return 'message expired before delivery';
    const topic = packet.topic;
    // [MQTT-3.3.2-12] outbound topic aliases, only when the client accepts them (its topic alias
    // maximum): the first PUBLISH of a topic sets the alias, the next ones send an empty topic.
    const known = this.topicAliases.get(topic);
    const alias =
      known ?? (this.topicAliases.size < this.v5!.topicAliasMaximum ? this.topicAliases.size + 1 : undefined);
    if (alias !== undefined) properties.topicAlias = alias;
    if (known !== undefined) packet.topic = '';
    packet.properties = encodeProperties(properties);
    const bytes = packetBytes(packet);
    if (bytes > this.v5!.maximumPacketSize) {
      // [MQTT-3.1.2-25] the broker must not send it; Sluice dead-letters it rather than losing it.
      packet.topic = topic;
      return `PUBLISH of ${bytes} bytes exceeds the client's maximum packet size ${this.v5!.maximumPacketSize}`;
    }
    // Only a PUBLISH that goes out sets an alias (the client learns it from that packet).
    if (alias !== undefined && known === undefined) this.topicAliases.set(topic, alias);
    return null;
  }

  private nextMessageId(): number {
    for (let i = 0; i < 65_535; i++) {
      const id = this.client._nextId;
      this.client._nextId = id >= 65_535 ? 1 : id + 1;
      if (!this.pending.has(id) && !this.liveInFlight.has(id)) return id;
    }
    throw new SluiceError('internal', 'no free MQTT packet identifier');
  }

  // ── bindings ───────────────────────────────────────────────────────────────────────
  /** One live listener for all live filters: the engine calls it once per message however many match. */
  private relisten(): void {
    this.liveQosByTopic.clear();
    this.stopLive?.();
    this.stopLive = null;
    const filters = [...this.bindings.values()].filter((b) => b.kind === 'live').map((b) => b.filter);
    if (filters.length === 0) return;
    const stops = filters.map((filter) => this.context.engine.listen(filter, this.onLive));
    this.stopLive = () => stops.forEach((stop) => stop());
  }

  private addQueueBinding(topic: string, queue: string, qos: Qos, options: SubscriptionOptions): void {
    const binding: Binding = { kind: 'queue', queue, qos, options, consumer: null };
    this.bindings.set(topic, binding);
    if (this.started) this.attachQueueConsumer(binding);
  }

  private attachQueueConsumer(binding: Extract<Binding, { kind: 'queue' }>): void {
    if (binding.consumer || this.closed) return;
    const consumer = this.context.engine.consume(binding.queue, {
      label: `mqtt:${this.client.id}`,
      flow: { mode: 'prefetch', prefetch: this.window },
      onDelivery: (delivery) => {
        const { message } = delivery;
        const { options } = binding;
        this.deliverQueued(
          consumer,
          delivery,
          Math.min(binding.qos, messageQos(message)) as Qos,
          options.retainAsPublished && message.headers[mqttRetainHeader] === '1',
          options.subscriptionId === undefined ? [] : [options.subscriptionId],
        );
      },
      onClosed: (reason) => {
        binding.consumer = null;
        this.context.logger.info(
          { clientId: this.client.id, queue: binding.queue, reason },
          'mqtt: queue consumer closed',
        );
      },
    });
    binding.consumer = consumer;
  }

  private attachSessionConsumer(): void {
    if (this.sessionConsumer || this.closed) return;
    const consumer = this.context.engine.consume(this.queueName, {
      label: `mqtt:${this.client.id}`,
      flow: { mode: 'prefetch', prefetch: this.window },
      onDelivery: (delivery) => {
        if (this.v5) {
          const match = matchBindings(delivery.message, this.bindings.values(), 'session', this.client.id);
          if (match.qos === null && match.local) {
            // [MQTT-3.8.3-3] no local: its own message is settled without being sent back.
            consumer.ack(delivery.deliveryId).catch((error) => this.logError(error, 'acking a no-local delivery'));
            return;
          }
          const qos = match.qos ?? messageQos(delivery.message);
          this.deliverQueued(consumer, delivery, qos, match.retain, match.ids);
          return;
        }
        // A filter removed while the message waited: deliver it anyway at the message's QoS.
        const qos = deliveryQos(delivery.message, this.bindings.values(), 'session') ?? messageQos(delivery.message);
        this.deliverQueued(consumer, delivery, qos);
      },
      onClosed: () => {
        if (this.sessionConsumer === consumer) this.sessionConsumer = null;
      },
    });
    this.sessionConsumer = consumer;
  }

  private updateSessionQueue(add: string[], remove: string[]): Promise<void> {
    const { engine, config } = this.context;
    const run = async (): Promise<void> => {
      const name = this.queueName;
      const info = engine.queueByName(name)
        ? engine.getQueue(name)
        : await engine.ensureQueue(name, { ...config.persistentSessionQueue, accessType: 'exclusive' });
      const current = new Set(info.config.subscriptions);
      const next = new Set(current);
      for (const filter of add) next.add(filter);
      for (const filter of remove) next.delete(filter);
      if (next.size === current.size && [...next].every((f) => current.has(f))) return;
      await engine.updateQueue(name, { subscriptions: [...next] });
    };
    const done = this.queueUpdates.then(run, run);
    this.queueUpdates = done.catch(() => {});
    return done;
  }

  private logError(error: unknown, doing: string): void {
    const level = error instanceof SluiceError && error.code === 'unknown-delivery' ? 'debug' : 'warn';
    this.context.logger[level]({ err: error, clientId: this.client.id }, `mqtt: ${doing} failed`);
  }
}

/** The QoS an MQTT publisher used; messages from other protocols count as QoS 2 (the subscription decides). */
function messageQos(message: Message): Qos {
  const value = message.headers[mqttQosHeader];
  return value === '0' ? 0 : value === '1' ? 1 : 2;
}

/**
 * min(publish QoS, highest QoS of the matching subscriptions of `kind`), or null when none
 * matches; without a message, just the highest subscription QoS for `topic`.
 */
function deliveryQos(
  message: Message | null,
  bindings: Iterable<Binding>,
  kind: 'live' | 'session',
  topic = message!.topic,
): Qos | null {
  let best: Qos | null = null;
  for (const binding of bindings)
    if (binding.kind === kind && topicMatches(binding.filter, topic) && (best === null || binding.qos > best))
      best = binding.qos;
  if (best === null || message === null) return best;
  return Math.min(best, messageQos(message)) as Qos;
}

/**
 * min(publish QoS, highest QoS of the matching MQTT 5 subscriptions of `kind`), or null when none
 * matches; with RETAIN when a matching subscription keeps it [MQTT-3.3.1-12] and the identifiers of
 * the matching subscriptions [MQTT-3.3.4-3]. `local` tells that a match was skipped for no local.
 */
function matchBindings(
  message: Message,
  bindings: Iterable<Binding>,
  kind: 'live' | 'session',
  clientId: string,
): { qos: Qos | null; retain: boolean; ids: number[]; local: boolean } {
  const own = message.protocol === 'mqtt' && message.publisher === clientId;
  const retained = message.headers[mqttRetainHeader] === '1';
  let best: Qos | null = null;
  let retain = false;
  let local = false;
  const ids: number[] = [];
  for (const binding of bindings) {
    if (binding.kind !== kind || !topicMatches(binding.filter, message.topic)) continue;
    if (own && binding.options.noLocal) {
      local = true;
      continue;
    }
    if (best === null || binding.qos > best) best = binding.qos;
    if (retained && binding.options.retainAsPublished) retain = true;
    if (binding.options.subscriptionId !== undefined) ids.push(binding.options.subscriptionId);
  }
  return { qos: best === null ? null : (Math.min(best, messageQos(message)) as Qos), retain, ids, local };
}

/** Bytes of one PUBLISH on the wire, properties included. */
function packetBytes(packet: OutgoingPacket): number {
  const remaining = publishRemainingLength(packet, Buffer.byteLength(packet.topic));
  return 1 + varIntBytes(remaining) + remaining;
}

function publishRemainingLength(packet: OutgoingPacket, topicLength: number): number {
  return 2 + topicLength + (packet.qos > 0 ? 2 : 0) + (packet.properties?.length ?? 0) + packet.payload.length;
}

/**
 * PUBLISH packets (§3.3), concatenated into one buffer: fixed header (type, DUP, QoS, RETAIN),
 * remaining length, topic, packet identifier when QoS > 0, for MQTT 5 the encoded properties
 * (`properties`), payload. A packet without `properties` is MQTT 3.1 / 3.1.1.
 */
export function encodePublishes(packets: readonly OutgoingPacket[]): Buffer {
  const topicBytes: number[] = [];
  let total = 0;
  for (const packet of packets) {
    const topicLength = Buffer.byteLength(packet.topic);
    topicBytes.push(topicLength);
    const remaining = publishRemainingLength(packet, topicLength);
    total += 1 + varIntBytes(remaining) + remaining;
  }
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  packets.forEach((packet, i) => {
    const topicLength = topicBytes[i]!;
    const remaining = publishRemainingLength(packet, topicLength);
    buffer[offset++] = 0x30 | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0);
    let length = remaining;
    do {
      let byte = length % 128;
      length = Math.floor(length / 128);
      if (length > 0) byte |= 0x80;
      buffer[offset++] = byte;
    } while (length > 0);
    buffer.writeUInt16BE(topicLength, offset);
    offset += 2;
    offset += buffer.write(packet.topic, offset, topicLength, 'utf8');
    if (packet.qos > 0) {
      buffer.writeUInt16BE(packet.messageId!, offset);
      offset += 2;
    }
    if (packet.properties) offset += packet.properties.copy(buffer, offset);
    offset += packet.payload.copy(buffer, offset);
  });
  return buffer;
}

function varIntBytes(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** `$share/<group>/<filter>` → its parts [MQTT 5 §4.8.2; the same syntax is accepted from 3.1.1 clients]. */
export function parseShare(topic: string): { group: string; filter: string } {
  const rest = topic.slice(sharePrefix.length);
  const slash = rest.indexOf('/');
  const group = slash < 0 ? '' : rest.slice(0, slash);
  const filter = slash < 0 ? '' : rest.slice(slash + 1);
  if (group.length === 0 || /[+#]/.test(group) || filter.length === 0)
    throw new SluiceError('invalid-topic-filter', `"${topic}" is not $share/<group>/<filter>`);
  assertTopicFilter(filter);
  return { group, filter };
}

/** Engine queue names exclude whitespace, `+ # * ?` and control characters: percent-encode those. */
function escapeQueuePart(text: string): string {
  return text.replace(/[\s+#*?%\p{Cc}]/gu, (char) =>
    [...Buffer.from(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** DESIGN.md: a persistent session is the engine queue `mqtt/<clientId>`. */
export function sessionQueueName(clientId: string): string {
  return `mqtt/${escapeQueuePart(clientId)}`;
}

/** Prefix of the engine queues behind `$share` subscriptions. */
export const sharedQueuePrefix = 'mqtt-share/';

/** The engine queue shared by the members of `$share/<group>/<filter>`. */
export function sharedQueueName(group: string, filter: string): string {
  return `${sharedQueuePrefix}${escapeQueuePart(group)}/${escapeQueuePart(filter)}`;
}
