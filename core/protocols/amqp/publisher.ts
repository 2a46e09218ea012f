import type { Delivery as AmqpDelivery, EventContext, Message as AmqpMessage, Receiver } from 'rhea';
import { SluiceError, toSluiceError } from '../../errors.ts';
import { authorize } from '../../security/authorize.ts';
import { publishAddress, queueTopic, type Address } from './address.ts';
import type { LinkHost } from './link-host.ts';
import { toPublishInput } from './mapping.ts';
import { linkState, terminusEcho } from './rhea-internals.ts';

/**
 * A client's sender link: every transfer is published to the engine and settled only after the
 * durable commit (DESIGN.md: durability contract): accepted, or rejected with the catalog's AMQP
 * condition (ACL denial, queue full, bad message, store full). Credit is what bounds unsettled
 * transfers: each settlement gives one back.
 *
 * A null target is the anonymous relay: each message's `to` names its address.
 */
export class PublisherLink {
  private readonly address: Address | null;
  private closed = false;

  constructor(
    private readonly host: LinkHost,
    private readonly receiver: Receiver,
  ) {
    const target = linkState(receiver).remote.attach?.target as
      { address?: string; capabilities?: string[] } | undefined;
    const address = target?.address;
    // Synchronous checks refuse the link in its attach (AMQP 1.0 §2.6.3): null target + detach error.
    this.address = address ? publishAddress(address, target?.capabilities) : null;
    if (this.address) this.authorize(this.address);
    if (this.address?.kind === 'queue') host.assertQueueReachable(this.address.queue);
    receiver.set_target(
      terminusEcho(target as Record<string, unknown> | undefined) as unknown as Parameters<Receiver['set_target']>[0],
    );
    receiver.on('message', (context: EventContext) => this.onMessage(context));
  }

  /** Checks queue existence (or creates it) and then grants credit. */
  async start(): Promise<void> {
    if (this.address?.kind === 'queue') await this.host.queueForPublish(this.address.queue);
    if (!this.closed) this.receiver.add_credit(this.host.config.publisherCredit);
  }

  close(): void {
    this.closed = true;
  }

  private authorize(address: Address): void {
    authorize(
      this.host.principal,
      'publish',
      address.kind === 'topic' ? address.topic : address.queue,
      this.host.security,
    );
  }

  private onMessage(context: EventContext): void {
    const delivery = context.delivery!;
    const message = context.message as AmqpMessage;
    this.publish(message).then(
      () => this.settle(delivery, null),
      (error: unknown) => this.settle(delivery, toSluiceError(error)),
    );
  }

  /** authorize → map → engine.publish (durable) ; the caller settles. */
  private async publish(message: AmqpMessage): Promise<void> {
    let address = this.address;
    if (!address) {
      if (typeof message.to !== 'string' || message.to.length === 0)
        throw new SluiceError('invalid-input', 'the anonymous relay needs a "to" address on every message');
      address = publishAddress(message.to);
      this.authorize(address);
      if (address.kind === 'queue') await this.host.queueForPublish(address.queue);
    } else this.authorize(address); // rights are live (DESIGN.md): a role change applies to open links

    const topic = address.kind === 'topic' ? address.topic : queueTopic(address.queue);
    await this.host.engine.publish(toPublishInput(message, topic, this.host.publisherName));
  }

  private settle(delivery: AmqpDelivery, error: SluiceError | null): void {
    if (this.closed) return;
    const preSettled = (delivery as AmqpDelivery & { remote_settled?: boolean }).remote_settled === true;
    // A pre-settled transfer gets no disposition, but rhea must still forget it (its session buffer).
    if (preSettled) delivery.update(true);
    if (error) {
      this.host.logger.info(
        { link: this.receiver.name, code: error.code, reason: error.detail, preSettled },
        'amqp: publish refused',
      );
      // AMQP 1.0 §3.4.2: rejected carries the error condition and its description.
      if (!preSettled) delivery.reject({ condition: error.mapping.amqp, description: error.detail });
    } else if (!preSettled) delivery.accept();
    if (this.receiver.is_open()) this.receiver.add_credit(1);
  }
}
