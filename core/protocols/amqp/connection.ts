import type { Logger } from 'pino';
import type { Connection, EventContext, Receiver, Sender } from 'rhea';
import type { Engine } from '../../engine/engine.ts';
import { SluiceError, toSluiceError } from '../../errors.ts';
import type { Principal, RightsChange, SecurityPolicy } from '../../security/authorize.ts';
import type { AmqpConfig } from './config.ts';
import { ConsumerLink, resolveSource } from './consumer.ts';
import type { AmqpCounters, AmqpShared, LinkHost } from './link-host.ts';
import { PublisherLink } from './publisher.ts';
import { linkState, type AnyLink } from './rhea-internals.ts';

/**
 * One AMQP connection after OPEN: its principal, its links and their lifecycle. The links are
 * served by PublisherLink (client senders) and ConsumerLink (client receivers).
 */
export class AmqpConnection implements LinkHost {
  readonly engine: Engine;
  readonly config: AmqpConfig;
  readonly logger: Logger;
  readonly security: SecurityPolicy;
  readonly counters: AmqpCounters;
  readonly containerId: string;
  private readonly publishers = new Map<Receiver, PublisherLink>();
  private readonly consumers = new Map<Sender, ConsumerLink>();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  constructor(
    shared: AmqpShared,
    private readonly connection: Connection,
    readonly principal: Principal,
  ) {
    this.engine = shared.engine;
    this.config = shared.config;
    this.security = shared.security;
    this.counters = shared.counters;
    this.containerId = connection.container_id ?? connection.options.id ?? 'unknown';
    this.logger = shared.logger.child({ containerId: this.containerId });
    connection.on('receiver_open', (context: EventContext) => this.openPublisher(context.receiver!));
    connection.on('sender_open', (context: EventContext) => this.openConsumer(context.sender!));
    connection.on('receiver_close', (context: EventContext) => this.closePublisher(context.receiver!));
    connection.on('sender_close', (context: EventContext) => this.closeConsumer(context.sender!));
    connection.on('session_close', (context: EventContext) => this.sessionEnded(context.session!));
  }

  get publisherName(): string {
    return this.principal.user ?? this.containerId;
  }

  get linkCount(): number {
    return this.publishers.size + this.consumers.size;
  }

  // ── link lifecycle ─────────────────────────────────────────────────────────────────
  private openPublisher(receiver: Receiver): void {
    if (!this.admitLink(receiver)) return;
    let link: PublisherLink;
    try {
      link = new PublisherLink(this, receiver);
    } catch (error) {
      return this.refuseLink(receiver, error);
    }
    this.publishers.set(receiver, link);
    link.start().catch((error: unknown) => this.failLink(receiver, error));
  }

  private openConsumer(sender: Sender): void {
    if (!this.admitLink(sender)) return;
    let link: ConsumerLink;
    try {
      link = new ConsumerLink(
        this,
        sender,
        resolveSource(this, sender.name, linkState(sender).remote.attach?.source ?? undefined),
      );
    } catch (error) {
      return this.refuseLink(sender, error);
    }
    this.consumers.set(sender, link);
    link.start().catch((error: unknown) => this.failLink(sender, error));
  }

  private admitLink(link: AnyLink): boolean {
    if (this.closed) return false;
    if (this.linkCount < this.config.maxLinksPerConnection) return true;
    this.refuseLink(
      link,
      new SluiceError('invalid-input', `at most ${this.config.maxLinksPerConnection} links per connection`),
      'amqp:resource-limit-exceeded',
    );
    return false;
  }

  /** AMQP 1.0 §2.6.3: a refused attach answers with a null terminus, then detaches with the error. */
  private refuseLink(link: AnyLink, error: unknown, condition?: string): void {
    const refused = toSluiceError(error);
    this.logger.info({ link: link.name, code: refused.code, reason: refused.detail }, 'amqp: link refused');
    if (link.is_receiver()) linkState(link).local.attach.target = null;
    else linkState(link).local.attach.source = null;
    link.close({ condition: condition ?? refused.mapping.amqp, description: refused.detail });
  }

  private failLink(link: AnyLink, error: unknown): void {
    const failed = toSluiceError(error);
    this.logger.info({ link: link.name, code: failed.code, reason: failed.detail }, 'amqp: link failed');
    this.detachLink(link, { condition: failed.mapping.amqp, description: failed.detail });
  }

  detachLink(link: AnyLink, error: { condition: string; description: string }): void {
    if (link.is_receiver()) this.closePublisher(link as Receiver);
    else this.track(this.consumers.get(link as Sender)?.close({ unsubscribe: false }));
    this.consumers.delete(link as Sender);
    if (link.is_open()) link.close(error);
  }

  private closePublisher(receiver: Receiver): void {
    this.publishers.get(receiver)?.close();
    this.publishers.delete(receiver);
  }

  private closeConsumer(sender: Sender): void {
    const link = this.consumers.get(sender);
    if (!link) return;
    this.consumers.delete(sender);
    // Detach with closed=true ends a durable subscription (JMS unsubscribe); closed=false keeps it.
    const unsubscribe = linkState(sender).remote.detach?.closed === true;
    this.track(link.close({ unsubscribe }));
    if (!unsubscribe && !sender.is_closed()) sender.detach();
  }

  private sessionEnded(session: unknown): void {
    for (const receiver of [...this.publishers.keys()]) if (receiver.session === session) this.closePublisher(receiver);
    for (const [sender, link] of [...this.consumers])
      if (sender.session === session) {
        this.consumers.delete(sender);
        this.track(link.close({ unsubscribe: false }));
      }
  }

  /**
   * DESIGN.md: rights are live. The user's password changed or it was deleted: the connection
   * closes; its roles changed: receivers it may no longer read detach. Both with
   * amqp:unauthorized-access.
   */
  rightsChanged(change: RightsChange): void {
    if (this.closed || (change.user !== null && change.user !== this.principal.user)) return;
    const condition = 'amqp:unauthorized-access';
    if (change.kind === 'credentials') {
      this.logger.info({ user: this.principal.user }, 'amqp: credentials changed, closing the connection');
      this.connection.close({ condition, description: 'the credentials of this connection changed' });
      return;
    }
    for (const [sender, link] of [...this.consumers])
      if (!link.stillAllowed()) {
        this.logger.info({ link: sender.name, user: this.principal.user }, 'amqp: link not authorized any more');
        this.detachLink(sender, { condition, description: 'not authorized any more' });
      }
  }

  /** The connection ended (closed or dropped): links go, durable subscriptions stay. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const receiver of [...this.publishers.keys()]) this.closePublisher(receiver);
    for (const [sender, link] of [...this.consumers]) {
      this.consumers.delete(sender);
      this.track(link.close({ unsubscribe: false }));
    }
    await Promise.all(this.closing);
  }

  private track(done: Promise<void> | undefined): void {
    if (!done) return;
    const settled = done
      .catch((error: unknown) => this.logger.warn({ err: error }, 'amqp: closing a link failed'))
      .finally(() => this.closing.delete(settled));
    this.closing.add(settled);
  }

  // ── queues ─────────────────────────────────────────────────────────────────────────
  assertQueueReachable(queue: string): void {
    if (!this.engine.queueByName(queue) && !this.config.autoCreateQueues)
      throw new SluiceError('queue-not-found', `Queue "${queue}" does not exist`, { queue });
  }

  async queueForConsume(queue: string): Promise<void> {
    if (this.engine.queueByName(queue)) return;
    if (!this.config.autoCreateQueues)
      throw new SluiceError('queue-not-found', `Queue "${queue}" does not exist`, { queue });
    await this.engine.ensureQueue(queue, { ...this.config.autoCreatedQueue });
  }

  /** A message sent to a queue is published on `$queue/<name>`, which the engine delivers to that queue. */
  async queueForPublish(queue: string): Promise<void> {
    await this.queueForConsume(queue);
  }

  settleInEngine(settlement: Promise<void>): void {
    settlement.catch((error: unknown) => {
      const failed = toSluiceError(error);
      const level = failed.code === 'unknown-delivery' || failed.code === 'broker-closing' ? 'debug' : 'warn';
      this.logger[level]({ code: failed.code, reason: failed.detail }, 'amqp: settlement failed');
    });
  }
}
