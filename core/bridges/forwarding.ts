/**
 * A bridge's traffic both ways (DESIGN.md: bridges): outbound, the backlog queue's deliveries sent
 * upstream and settled locally strictly in queue order once the upstream acknowledged them;
 * inbound, upstream messages published into the engine, acknowledged upstream only after the
 * commit. Topics map through the bridge's rules, and loop prevention drops what went round.
 * The connection they travel on is the bridge's (bridge.ts).
 */
import type { Logger } from 'pino';
import type { Consumer, Delivery } from '../engine/consumer.ts';
import type { Engine } from '../engine/engine.ts';
import { SluiceError } from '../errors.ts';
import { RateMeter } from '../pacing.ts';
import {
  bridgeHeader,
  hopsHeader,
  originHeader,
  rewriteTopic,
  type BridgeConfig,
  type TopicRule,
} from '../schema/bridge-config.ts';
import { topicMatches } from '../schema/topic.ts';
import { TokenBucket } from './rate-limit.ts';
import {
  UpstreamError,
  toUpstreamError,
  type InboundMessage,
  type OutboundMessage,
  type UpstreamSession,
} from './upstream.ts';

/** Header carrying `<brokerId>:<message id>` upstream, so a consumer there can drop redeliveries. */
export const messageIdHeader = 'sluice-message-id';

/** Engine errors that refuse one inbound message for good; any other error is retried later. */
const permanentPublishErrors = new Set(['invalid-topic', 'invalid-input', 'payload-too-large']);

/** One outbound delivery between the engine and the upstream. Settled locally strictly in queue order. */
interface InFlight {
  readonly delivery: Delivery;
  readonly session: UpstreamSession;
  outcome: 'pending' | 'acked' | 'skipped' | 'refused';
  sent: boolean;
  error?: string;
}

/** A bridge's counters, as its status reports them. */
export type BridgeCounters = Record<
  'forwarded' | 'received' | 'resent' | 'refused' | 'loopsPrevented' | 'unmatched' | 'connects' | 'connectFailures',
  number
>;

/** What a bridge's traffic reads from its bridge and reports back to it (bridge.ts owns the connection). */
export interface BridgeLink {
  readonly config: BridgeConfig;
  readonly engine: Engine;
  readonly brokerId: string;
  readonly log: Logger;
  readonly counters: BridgeCounters;
  /** The backlog queue's consumer; null once detached. */
  consumer(): Consumer | null;
  /** The upstream session; null between connections. */
  session(): UpstreamSession | null;
  /** True once the bridge is closing. */
  stopping(): boolean;
  /** Ends `session` because of `error` (a send that cannot go on). */
  lose(session: UpstreamSession, error: UpstreamError): void;
  /** Notes an error for the status. */
  recordError(message: string): void;
  /** A message went through (either way). */
  succeeded(): void;
}

/** Outbound: engine queue → upstream. */
export class Outbound {
  private readonly inFlight: InFlight[] = [];
  private sendChain: Promise<void> = Promise.resolve();
  /** Message ids released after they went out: sending them again may duplicate upstream. */
  private readonly releasedAfterSend = new Set<string>();
  /** Paces what goes upstream (the bridge's rate limit). */
  readonly limiter: TokenBucket;
  /** Messages acknowledged upstream per second. */
  readonly rate = new RateMeter();

  constructor(private readonly bridge: BridgeLink) {
    const { messagesPerSecond, burst } = bridge.config.rateLimit;
    this.limiter = new TokenBucket(messagesPerSecond, burst);
  }

  /** True while a delivery waits for its upstream ack. */
  get pending(): boolean {
    return this.inFlight.some((entry) => entry.outcome === 'pending');
  }

  /** Deliveries sent upstream and not acknowledged yet. */
  get sentInFlight(): number {
    return this.inFlight.filter((entry) => entry.sent && entry.outcome === 'pending').length;
  }

  /** One delivery from the backlog queue: sent upstream in order, or settled at once. */
  onDelivery(delivery: Delivery): void {
    const session = this.bridge.session();
    const consumer = this.bridge.consumer();
    if (!consumer) return;
    if (!session || this.bridge.stopping()) {
      // Dispatched just before the credit went to zero: give it back, its place kept.
      this.settle(consumer, delivery, 'release');
      return;
    }
    const entry: InFlight = { delivery, session, outcome: 'pending', sent: false };
    this.inFlight.push(entry);
    const { headers } = delivery.message;
    const hops = Number(headers[hopsHeader] ?? '0') || 0;
    // Loop prevention: never send back what this bridge brought in; stop at the hop limit.
    if (headers[bridgeHeader] === this.bridge.config.name || hops >= this.bridge.config.out.maxHops) {
      entry.outcome = 'skipped';
      this.bridge.counters.loopsPrevented++;
      this.drain();
      return;
    }
    this.sendChain = this.sendChain.then(() => this.send(entry, hops));
  }

  private async send(entry: InFlight, hops: number): Promise<void> {
    if (entry.session !== this.bridge.session() || entry.outcome !== 'pending') return;
    await this.limiter.take();
    if (entry.session !== this.bridge.session() || entry.outcome !== 'pending') return;
    const { message, deliveryCount } = entry.delivery;
    // A second delivery follows a crash mid-send; a released-after-send one follows an outage.
    if (this.releasedAfterSend.delete(message.id) || deliveryCount > 1) this.bridge.counters.resent++;
    entry.sent = true;
    const headers: Record<string, string> = { ...message.headers };
    delete headers[bridgeHeader];
    headers[originHeader] = message.headers[originHeader] ?? this.bridge.brokerId;
    headers[hopsHeader] = String(hops + 1);
    headers[messageIdHeader] = `${this.bridge.brokerId}:${message.id}`;
    const outbound: OutboundMessage = {
      topic: mapTopic(message.topic, this.bridge.config.out.topics, 'out'),
      localTopic: message.topic,
      payload: message.payload,
      headers,
      priority: message.priority,
      expiresAt: message.expiresAt,
      ...(message.contentType !== undefined && { contentType: message.contentType }),
      ...(message.correlationId !== undefined && { correlationId: message.correlationId }),
      ...(message.replyTo !== undefined && { replyTo: message.replyTo }),
    };
    entry.session.send(outbound).then(
      () => {
        if (entry.outcome !== 'pending') return;
        entry.outcome = 'acked';
        this.bridge.counters.forwarded++;
        this.rate.add();
        this.bridge.succeeded();
        this.drain();
      },
      (error: unknown) => {
        if (entry.outcome !== 'pending') return;
        const failure = toUpstreamError(error);
        if (failure.kind === 'refused-message') {
          // Refused for good: to the DMQ with the upstream's words, the rest goes on in order.
          entry.outcome = 'refused';
          entry.error = failure.message;
          this.bridge.counters.refused++;
          this.bridge.recordError(failure.message);
          this.drain();
        } else this.bridge.lose(entry.session, failure);
      },
    );
  }

  /** Settles finished deliveries from the head of the line, so acks commit in queue order. */
  private drain(): void {
    const consumer = this.bridge.consumer();
    while (this.inFlight.length > 0 && this.inFlight[0]!.outcome !== 'pending') {
      const entry = this.inFlight.shift()!;
      if (!consumer) continue;
      this.settle(consumer, entry.delivery, entry.outcome === 'refused' ? 'reject' : 'ack', entry.error);
      if (this.bridge.session() === entry.session && !this.bridge.stopping()) consumer.addCredit(1);
    }
  }

  /** After a connection loss: acknowledged ones are acked, the rest released in order (not counted as attempts). */
  async settleAfterLoss(): Promise<void> {
    await this.sendChain;
    const consumer = this.bridge.consumer();
    const entries = this.inFlight.splice(0);
    if (!consumer) return;
    const settlements = entries.map((entry) => {
      if (entry.outcome === 'pending') {
        entry.outcome = 'skipped'; // no longer ours to finish
        if (entry.sent) this.rememberReleased(entry.delivery.message.id);
        return this.settle(consumer, entry.delivery, 'release');
      }
      return this.settle(consumer, entry.delivery, entry.outcome === 'refused' ? 'reject' : 'ack', entry.error);
    });
    await Promise.all(settlements);
  }

  private rememberReleased(id: string): void {
    this.releasedAfterSend.add(id);
    // Bounded: an outage with a huge window must not grow this without limit.
    if (this.releasedAfterSend.size > 10_000) {
      const oldest = this.releasedAfterSend.values().next().value;
      if (oldest !== undefined) this.releasedAfterSend.delete(oldest);
    }
  }

  private settle(
    consumer: Consumer,
    delivery: Delivery,
    outcome: 'ack' | 'release' | 'reject',
    error?: string,
  ): Promise<void> {
    const done =
      outcome === 'ack'
        ? consumer.ack(delivery.deliveryId)
        : outcome === 'release'
          ? consumer.release(delivery.deliveryId)
          : consumer.reject(delivery.deliveryId, error);
    return done.catch((failure: unknown) =>
      this.bridge.log.warn(
        { bridge: this.bridge.config.name, err: (failure as Error).message, deliveryId: delivery.deliveryId },
        `bridge could not ${outcome} a delivery`,
      ),
    );
  }
}

/** Inbound: upstream → engine. */
export class Inbound {
  /** Inbound messages on their way into the engine (their upstream ack follows the commit). */
  private commits = 0;
  /** Paces what comes in (the bridge's rate limit). */
  readonly limiter: TokenBucket;
  /** Messages stored per second. */
  readonly rate = new RateMeter();

  constructor(private readonly bridge: BridgeLink) {
    const { messagesPerSecond, burst } = bridge.config.rateLimit;
    this.limiter = new TokenBucket(messagesPerSecond, burst);
  }

  /** Messages on their way into the engine: close() waits for them, so the upstream gets its acks. */
  get committing(): number {
    return this.commits;
  }

  /** Publishes one upstream message; resolving lets the adapter acknowledge it upstream. */
  async onMessage(message: InboundMessage): Promise<void> {
    const { headers } = message;
    const hops = Number(headers[hopsHeader] ?? '0') || 0;
    // Loop prevention: our own messages coming back, or a message that went round too often.
    if (headers[originHeader] === this.bridge.brokerId || hops >= this.bridge.config.out.maxHops) {
      this.bridge.counters.loopsPrevented++;
      return;
    }
    const rules = this.bridge.config.in.topics;
    if (rules.length > 0 && !rules.some((rule) => topicMatches(rule.filter, message.topic))) {
      this.bridge.counters.unmatched++;
      return;
    }
    await this.limiter.take();
    if (this.bridge.stopping()) throw new UpstreamError('local', 'bridge stopping');
    this.commits++;
    try {
      await this.bridge.engine.publish({
        topic: mapTopic(message.topic, rules, 'in'),
        payload: message.payload,
        headers: { ...headers, [bridgeHeader]: this.bridge.config.name, [hopsHeader]: String(hops + 1) },
        publisher: `bridge:${this.bridge.config.name}`,
        protocol: 'bridge',
        ...(message.contentType !== undefined && { contentType: message.contentType }),
        ...(message.correlationId !== undefined && { correlationId: message.correlationId }),
        ...(message.replyTo !== undefined && { replyTo: message.replyTo }),
        ...(message.priority !== undefined && { priority: message.priority }),
        ...(message.expiresAt !== undefined && { expiresAt: message.expiresAt }),
      });
    } catch (error) {
      const refused = error instanceof SluiceError && permanentPublishErrors.has(error.code);
      if (refused) this.bridge.counters.refused++;
      const text = `inbound message on "${message.topic}" not stored: ${(error as Error).message}`;
      this.bridge.recordError(text);
      throw new UpstreamError(refused ? 'refused-message' : 'local', text);
    } finally {
      this.commits--;
    }
    this.bridge.counters.received++;
    this.rate.add();
    this.bridge.succeeded();
  }
}

/** Maps a topic through the first rule whose filter matches it; unchanged when none does. */
export function mapTopic(topic: string, rules: readonly TopicRule[], direction: 'out' | 'in'): string {
  const rule = rules.find((candidate) => topicMatches(candidate.filter, topic));
  if (!rule) return topic;
  return direction === 'out'
    ? rewriteTopic(topic, rule.localPrefix, rule.remotePrefix)
    : rewriteTopic(topic, rule.remotePrefix, rule.localPrefix);
}
