import { type Delivery as AmqpDelivery, type EventContext, type Sender } from 'rhea';
import type { Consumer, Delivery } from '../../engine/consumer.ts';
import type { Message } from '../../engine/message.ts';
import { SluiceError } from '../../errors.ts';
import { assertOwner, authorize } from '../../security/authorize.ts';
import { consumeAddress, parseReplayStart, replayFilterKey, type ReplayStart } from './address.ts';
import type { LinkHost } from './link-host.ts';
import { toAmqpMessage } from './mapping.ts';
import { linkState, terminusEcho } from './rhea-internals.ts';

/** The terminus fields Sluice reads from a receiver's source (AMQP 1.0 §3.5.3). */
interface SourceTerminus {
  address?: string;
  durable?: number;
  expiry_policy?: string;
  capabilities?: string[];
  filter?: Record<string, unknown>;
}

/** How a receiver link is served. */
export type ConsumerSource =
  /** A named durable queue. */
  | { readonly kind: 'queue'; readonly queue: string }
  /** A JMS durable subscription: the engine queue `amqp-sub/<container-id>/<link-name>`. */
  | { readonly kind: 'durable-subscription'; readonly queue: string; readonly filter: string }
  /** A replay from the log into a temporary queue, then live messages on the filter. */
  | { readonly kind: 'replay'; readonly queue: string; readonly filter: string; readonly start: ReplayStart }
  /** A non-durable topic subscription: a live tap (nothing is stored for it). */
  | { readonly kind: 'live'; readonly filter: string };

/** Prefix of the queues behind durable subscriptions. */
export const durableSubscriptionPrefix = 'amqp-sub/';
/** Prefix of the temporary queues behind replay receivers; removed when the link goes and on start. */
export const replayQueuePrefix = 'amqp-replay/';

let replaySeq = 0;

/** Engine queue names exclude whitespace, `+ # * ?` and control characters: percent-encode those. */
export function escapeQueuePart(text: string): string {
  return text.replace(/[\s+#*?%\p{Cc}]/gu, (char) =>
    [...Buffer.from(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Decides how a receiver's source is served; throws SluiceError to refuse the link. */
export function resolveSource(
  host: LinkHost,
  linkName: string,
  source: SourceTerminus | undefined | null,
): ConsumerSource {
  if (!source?.address)
    throw new SluiceError('invalid-input', 'a receiver needs a source address (dynamic sources are not supported)');
  const address = consumeAddress(source.address, source.capabilities);
  const replay = replayFilterOf(source.filter);
  if (address.kind === 'queue') {
    if (replay !== undefined)
      throw new SluiceError(
        'invalid-input',
        `${replayFilterKey} applies to topic addresses, not to queue "${address.queue}"`,
      );
    authorize(host.principal, 'consume', address.queue, host.security);
    host.assertQueueReachable(address.queue);
    return { kind: 'queue', queue: address.queue };
  }
  authorize(host.principal, 'subscribe', address.topic, host.security);
  if (replay !== undefined) {
    authorize(host.principal, 'replay', address.topic, host.security);
    return {
      kind: 'replay',
      queue: `${replayQueuePrefix}${escapeQueuePart(host.containerId)}/${escapeQueuePart(linkName)}/${++replaySeq}`,
      filter: address.topic,
      start: parseReplayStart(replay),
    };
  }
  // JMS durable subscriber (qpid-jms): durable terminus, expiry policy never; named by link name + container id.
  if ((source.durable ?? 0) > 0 && source.expiry_policy === 'never') {
    const queue = `${durableSubscriptionPrefix}${escapeQueuePart(host.containerId)}/${escapeQueuePart(linkName)}`;
    // DESIGN.md: state has an owner. Another user's container id + link name is refused before
    // anything of the owner's is read or re-pointed.
    assertOwner(host.principal, queue, host.security);
    return { kind: 'durable-subscription', queue, filter: address.topic };
  }
  return { kind: 'live', filter: address.topic };
}

/** The `sluice-replay-from` filter value: plain or described (AMQP 1.0 §3.5.8 filter-set). */
function replayFilterOf(filter: Record<string, unknown> | undefined): unknown {
  if (!filter || !(replayFilterKey in filter)) return undefined;
  const entry = filter[replayFilterKey] as { value?: unknown; descriptor?: unknown } | unknown;
  if (entry && typeof entry === 'object' && 'descriptor' in entry && 'value' in entry) return unwrap(entry.value);
  return unwrap(entry);
}

function unwrap(value: unknown): unknown {
  return value && typeof value === 'object' && 'value' in value && !(value instanceof Date)
    ? (value as { value: unknown }).value
    : value;
}

/** Per-delivery facts kept until the receiver settles it. */
interface Pending {
  readonly deliveryId: number;
  readonly messageId: string;
  settled: boolean;
}

/**
 * A client's receiver link. Engine deliveries are sent while the link has credit (the engine
 * consumer's credit mirrors the AMQP link credit, so no more is in flight than granted);
 * dispositions drive the queue state machine:
 *   accepted → ack · rejected → reject (DMQ, with the error text) · released → release (not counted)
 *   modified{delivery-failed} → fail (counted; max redelivery → DMQ)
 *   modified{undeliverable-here} alone → release, and this link will not be offered it again:
 *   if it comes back here, it is failed (counted) without being sent.
 * A pre-settled link (snd-settle-mode settled) is at-most-once: each delivery is acked when written.
 */
export class ConsumerLink {
  private consumer: Consumer | null = null;
  private stopLive: (() => void) | null = null;
  private replayId: string | null = null;
  private readonly pending = new WeakMap<AmqpDelivery, Pending>();
  /** Message ids this link refused with undeliverable-here (AMQP 1.0 §3.4.5). */
  private readonly notHere = new Set<string>();
  private readonly liveBuffer: Message[] = [];
  private readonly preSettled: boolean;
  private closed = false;

  constructor(
    private readonly host: LinkHost,
    private readonly sender: Sender,
    readonly source: ConsumerSource,
  ) {
    const state = linkState(sender);
    const remote = state.remote.attach ?? {};
    // AMQP 1.0 §2.8.2: the receiver asks for a sender settle mode; settled (1) = at most once.
    this.preSettled = remote.snd_settle_mode === 1;
    state.local.attach.snd_settle_mode = this.preSettled ? 1 : 0;
    state.local.attach.rcv_settle_mode = 0;
    // Echo the terminus the link got; filters are left out except the replay one Sluice honoured.
    const terminus = (remote.source ?? {}) as SourceTerminus;
    sender.set_source({
      ...terminusEcho(terminus as Record<string, unknown>),
      ...(this.source.kind === 'replay' && { filter: { [replayFilterKey]: String(replayFilterOf(terminus.filter)) } }),
    } as Parameters<Sender['set_source']>[0]);
    sender.set_target(terminusEcho(remote.target) as unknown as Parameters<Sender['set_target']>[0]);
    sender.on('sendable', () => this.creditChanged());
    sender.on('sender_flow', () => this.creditChanged());
    sender.on('sender_draining', () => this.drain());
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const)
      sender.on(outcome, (context: EventContext) => this.settled(context.delivery!, outcome));
    sender.on('settled', (context: EventContext) => this.settled(context.delivery!, null));
  }

  /** DESIGN.md: rights are live. False when the principal may no longer read this source. */
  stillAllowed(): boolean {
    const { principal, security } = this.host;
    const source = this.source;
    if (source.kind === 'queue') return security.allows(principal, 'consume', source.queue);
    if (!security.allows(principal, 'subscribe', source.filter)) return false;
    return source.kind !== 'replay' || security.allows(principal, 'replay', source.filter);
  }

  /** Creates what the source needs (queues, replay), then attaches to the engine. */
  async start(): Promise<void> {
    const { engine } = this.host;
    const source = this.source;
    switch (source.kind) {
      case 'queue':
        await this.host.queueForConsume(source.queue);
        break;
      case 'durable-subscription': {
        this.host.security.owners?.claim(source.queue, this.host.principal);
        const info = await engine.ensureQueue(source.queue, {
          ...this.host.config.durableSubscriptionQueue,
          subscriptions: [source.filter],
          accessType: 'exclusive',
        });
        // JMS: resubscribing under the same name with another topic replaces the subscription.
        if (info.config.subscriptions.length !== 1 || info.config.subscriptions[0] !== source.filter)
          await engine.updateQueue(source.queue, { subscriptions: [source.filter] });
        break;
      }
      case 'replay': {
        // Live messages from now on are enqueued by the subscription; the replay ends at today's log end.
        const status = await engine.replays.start({
          target: { queue: source.queue, create: { subscriptions: [source.filter], accessType: 'exclusive' } },
          start: source.start,
          topicFilter: source.filter,
        });
        this.replayId = status.id;
        break;
      }
      case 'live':
        this.stopLive = engine.listen(source.filter, (message) => this.onLive(message));
        return;
    }
    if (this.closed) return this.cleanup();
    this.consumer = engine.consume(source.queue, {
      label: `amqp:${this.host.containerId}/${this.sender.name}`,
      flow: { mode: 'credit' },
      onDelivery: (delivery) => this.onDelivery(delivery),
      onClosed: (reason) => {
        this.consumer = null;
        if (!this.closed)
          this.host.detachLink(this.sender, { condition: 'amqp:resource-deleted', description: reason });
      },
    });
    this.creditChanged();
  }

  /**
   * The link went away. `closed` (detach closed=true) ends a durable subscription (JMS
   * unsubscribe); a plain detach or a dropped connection keeps it.
   */
  async close(options: { unsubscribe: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopLive?.();
    this.stopLive = null;
    const consumer = this.consumer;
    this.consumer = null;
    // Unsettled deliveries return to ready; they count as an attempt (DESIGN.md: release = disconnect before ack).
    await consumer?.close();
    await this.cleanup(options.unsubscribe);
  }

  private async cleanup(unsubscribe = false): Promise<void> {
    const { engine } = this.host;
    if (this.source.kind === 'replay') {
      if (this.replayId) await engine.replays.cancel(this.replayId).catch(() => undefined);
      if (engine.queueByName(this.source.queue)) await engine.deleteQueue(this.source.queue, { force: true });
    }
    if (this.source.kind === 'durable-subscription' && unsubscribe) {
      if (engine.queueByName(this.source.queue)) await engine.deleteQueue(this.source.queue, { force: true });
      this.host.security.owners?.release(this.source.queue);
    }
  }

  // ── engine → client ────────────────────────────────────────────────────────────────
  private creditChanged(): void {
    if (this.closed) return;
    if (this.consumer) this.consumer.setCredit(linkState(this.sender).credit);
    else if (this.source.kind === 'live') this.flushLive();
  }

  /** AMQP 1.0 §2.6.7 drain: use the credit up, then give back what is left. */
  private drain(): void {
    if (this.closed) return;
    if (this.source.kind === 'live') {
      this.flushLive();
      this.sender.set_drained(true);
      return;
    }
    this.consumer?.setCredit(linkState(this.sender).credit);
    // After one commit the engine has dispatched everything it could for this credit.
    void this.host.engine.commit
      .submit(() => undefined)
      .then(() => {
        if (this.closed || !this.sender.is_open()) return;
        this.consumer?.setCredit(0);
        this.sender.set_drained(true);
      })
      .catch(() => undefined);
  }

  private onDelivery(delivery: Delivery): void {
    const consumer = this.consumer;
    if (!consumer || this.closed) return;
    if (this.notHere.has(delivery.message.id)) {
      // It came back to the link that refused it: count the attempt without offering it again.
      this.notHere.delete(delivery.message.id);
      this.host.settleInEngine(consumer.fail(delivery.deliveryId, `undeliverable here: ${this.sender.name}`));
      consumer.addCredit(1);
      return;
    }
    const sent = this.sender.send(toAmqpMessage(delivery.message, delivery));
    if (this.preSettled) {
      this.host.settleInEngine(consumer.ack(delivery.deliveryId));
      return;
    }
    this.pending.set(sent, { deliveryId: delivery.deliveryId, messageId: delivery.message.id, settled: false });
  }

  private onLive(message: Message): void {
    if (this.closed) return;
    if (linkState(this.sender).credit > 0 && this.liveBuffer.length === 0) {
      this.sendLive(message);
      return;
    }
    // Backpressure for live flow: without credit, buffer up to a bound, then drop and count
    // (DESIGN.md: backpressure, not unbounded memory).
    if (this.liveBuffer.length >= this.host.config.maxBufferedLivePerLink) {
      this.host.counters.liveDropped++;
      return;
    }
    this.liveBuffer.push(message);
  }

  private flushLive(): void {
    while (linkState(this.sender).credit > 0 && this.liveBuffer.length > 0) this.sendLive(this.liveBuffer.shift()!);
  }

  private sendLive(message: Message): void {
    const sent = this.sender.send(toAmqpMessage(message, { deliveryCount: 1 }));
    // Nothing to settle in the engine: a live tap holds no entry.
    if (!this.preSettled) this.pending.set(sent, { deliveryId: -1, messageId: message.id, settled: false });
  }

  // ── client → engine ────────────────────────────────────────────────────────────────
  private settled(delivery: AmqpDelivery, outcome: 'accepted' | 'rejected' | 'released' | 'modified' | null): void {
    const held = this.pending.get(delivery);
    if (!held || held.settled) return;
    // 'settled' without an outcome (AMQP 1.0 §3.4: the default outcome, none declared) counts as accepted.
    const state = outcome ?? 'accepted';
    held.settled = true;
    if (!delivery.settled) delivery.update(true);
    const consumer = this.consumer;
    if (held.deliveryId < 0 || !consumer) return;
    const remote = delivery.remote_state as
      | {
          error?: { condition?: string; description?: string };
          delivery_failed?: boolean;
          undeliverable_here?: boolean;
        }
      | undefined;
    switch (state) {
      case 'accepted':
        this.host.settleInEngine(consumer.ack(held.deliveryId));
        break;
      case 'rejected': {
        const error = remote?.error;
        const text = error ? [error.condition, error.description].filter(Boolean).join(': ') : 'rejected';
        this.host.settleInEngine(consumer.reject(held.deliveryId, text));
        break;
      }
      case 'released':
        this.host.settleInEngine(consumer.release(held.deliveryId));
        break;
      case 'modified':
        if (remote?.undeliverable_here) this.notHere.add(held.messageId);
        if (remote?.delivery_failed)
          this.host.settleInEngine(consumer.fail(held.deliveryId, 'modified: delivery-failed'));
        else this.host.settleInEngine(consumer.release(held.deliveryId));
        break;
    }
  }
}
