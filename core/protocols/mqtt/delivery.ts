import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Consumer, Delivery } from '../../engine/consumer.ts';
import type { Engine } from '../../engine/engine.ts';
import type { Message } from '../../engine/message.ts';
import { SluiceError } from '../../errors.ts';
import type { Principal, SecurityPolicy } from '../../security/authorize.ts';
import { deliveryQos, matchBindings, messageQos, type Binding, type Qos } from './bindings.ts';
import type { MqttConfig } from './config.ts';
import { encodeProperties, outboundProperties } from './properties.ts';
import { encodePublishes, packetBytes, type OutgoingPacket } from './publish-encoding.ts';

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
 * The engine → client half of a session: every PUBLISH to the client goes through `send` (one
 * socket write per tick), with its packet id, the MQTT 5 receive window and topic aliases, and
 * PUBACK/PUBCOMP settle the engine delivery through `acknowledged`. `Session` (session.ts) extends
 * it with the subscriptions: one object in two files, so the delivery path calls `this` directly
 * and nothing is forwarded per message.
 */
export abstract class SessionDelivery {
  /** The subscriptions by topic as subscribed (Session adds and removes them; deliveries match them). */
  protected readonly bindings = new Map<string, Binding>();
  /** Packet id → the queue delivery it carries, until PUBACK/PUBCOMP. */
  private readonly pending = new Map<number, { consumer: Consumer; deliveryId: number }>();
  /** Live messages written but not yet flushed to the socket. */
  private liveBuffered = 0;
  /** PUBLISHes to write at the end of this tick, in order, as one socket write (see `send`). */
  private outbox: OutgoingPacket[] = [];
  /** Their write callbacks (null: nothing to do), index for index. */
  private outboxWritten: Array<(() => void) | null> = [];
  private flushScheduled = false;
  /** Live delivery QoS per topic for the current live bindings (cleared when they change). */
  protected readonly liveQosByTopic = new Map<string, Qos | null>();
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
  protected closed = false;

  constructor(
    protected readonly context: SessionContext,
    readonly client: AedesClient,
    readonly principal: Principal,
    /** Set for MQTT 5 clients: what their CONNECT asked for. */
    readonly v5: V5Settings | null = null,
  ) {}

  /** Unacknowledged QoS 1/2 deliveries allowed: the config's, lowered by an MQTT 5 receive maximum. */
  protected get window(): number {
    return Math.min(this.context.config.maxInFlightPerClient, this.v5?.receiveMaximum ?? Infinity);
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
  protected readonly onLive = (message: Message): void => {
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

  protected deliverQueued(consumer: Consumer, delivery: Delivery, qos: Qos, retain = false, ids: number[] = []): void {
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

  /** The connection ended: nothing is held for an acknowledgement or waits for the receive window. */
  protected forgetDeliveries(): void {
    this.pending.clear();
    this.liveInFlight.clear();
    this.liveWaiting = [];
    this.queuedWaiting = [];
  }

  protected logError(error: unknown, doing: string): void {
    const level = error instanceof SluiceError && error.code === 'unknown-delivery' ? 'debug' : 'warn';
    this.context.logger[level]({ err: error, clientId: this.client.id }, `mqtt: ${doing} failed`);
  }
}
