import type { Consumer } from '../../engine/consumer.ts';
import { assertTopicFilter } from '../../schema/topic.ts';
import { SluiceError } from '../../errors.ts';
import { authorize } from '../../security/authorize.ts';
import {
  defaultOptions,
  deliveryQos,
  matchBindings,
  messageQos,
  type Binding,
  type Qos,
  type SubscriptionOptions,
} from './bindings.ts';
import { SessionDelivery } from './delivery.ts';
import { mqttRetainHeader } from './properties.ts';
import {
  parseShare,
  queuePrefix,
  sessionQueueName,
  sharedQueueName,
  sharedQueuePrefix,
  sharePrefix,
} from './queue-names.ts';

/**
 * One MQTT connection's view of the engine (DESIGN.md: MQTT sessions are queues). Clean
 * sessions tap the live flow; persistent sessions consume their queue `mqtt/<clientId>`;
 * `$queue/` and `$share/` subscriptions consume engine queues. Every PUBLISH to the client
 * goes through `send` (STYLE.md §11: aedes is wrapped at one boundary), and PUBACK/PUBCOMP
 * settle the engine delivery through `acknowledged` (both in `SessionDelivery`, delivery.ts).
 */
export class Session extends SessionDelivery {
  private stopLive: (() => void) | null = null;
  private sessionConsumer: Consumer | null = null;
  /** Session-queue updates run one at a time (a SUBSCRIBE's filters are handled in parallel). */
  private queueUpdates: Promise<unknown> = Promise.resolve();
  private started = false;

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
    this.forgetDeliveries();
    // DESIGN.md: release (redeliver) = disconnect before ack; the attempt counts toward max redelivery.
    await Promise.all(consumers.map((c) => c?.close().catch((error) => this.logError(error, 'detaching consumer'))));
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
}
