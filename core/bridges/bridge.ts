import type { Logger } from 'pino';
import type { Consumer, Delivery } from '../engine/consumer.ts';
import type { Engine } from '../engine/engine.ts';
import { topicMatches } from '../schema/topic.ts';
import { SluiceError } from '../errors.ts';
import {
  bridgeHeader,
  hopsHeader,
  originHeader,
  rewriteTopic,
  type BridgeConfig,
  type TopicRule,
} from '../schema/bridge-config.ts';
import { TokenBucket } from './rate-limit.ts';
import { alarmsFor, type BridgeState, type BridgeStatus } from '../schema/bridge-status.ts';
import {
  UpstreamError,
  toUpstreamError,
  type InboundMessage,
  type OutboundMessage,
  type Upstream,
  type UpstreamSession,
} from './upstream.ts';
import { backoffDelayMs, RateMeter } from '../pacing.ts';

/** Header carrying `<brokerId>:<message id>` upstream, so a consumer there can drop redeliveries. */
export const messageIdHeader = 'sluice-message-id';

/** Engine errors that refuse one inbound message for good; any other error is retried later. */
const permanentPublishErrors = new Set(['invalid-topic', 'invalid-input', 'payload-too-large']);

/** A connection held this long before it failed counts as up: the backoff starts over. */
const stableConnectionMs = 10_000;
/** On close, in-flight messages get this long for their upstream ack before they are released. */
const closeDrainMs = 2000;

/** The engine queue holding a bridge's outbound backlog. */
export function bridgeQueueName(name: string): string {
  return `bridge/${name}`;
}

/** One outbound delivery between the engine and the upstream. Settled locally strictly in queue order. */
interface InFlight {
  readonly delivery: Delivery;
  readonly session: UpstreamSession;
  outcome: 'pending' | 'acked' | 'skipped' | 'refused';
  sent: boolean;
  error?: string;
}

/** What a bridge needs from its surroundings. */
export interface BridgeContext {
  readonly engine: Engine;
  readonly brokerId: string;
  readonly logger: Logger;
}

/**
 * One bridge: connect → forward / receive → on loss release and back off → connect again,
 * forever. Outbound it is a credit-mode consumer of its `bridge/<name>` queue, so an outage
 * stops deliveries (credit 0) without detaching, and released messages keep their place.
 */
export class Bridge {
  private state: BridgeState = 'stopped';
  private consumer: Consumer | null = null;
  private session: UpstreamSession | null = null;
  private sessionLost: ((error: UpstreamError | null) => void) | null = null;
  private readonly inFlight: InFlight[] = [];
  /** Inbound messages on their way into the engine (their upstream ack follows the commit). */
  private inboundCommitting = 0;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly outLimiter: TokenBucket;
  private readonly inLimiter: TokenBucket;
  /** Message ids released after they went out: sending them again may duplicate upstream. */
  private readonly releasedAfterSend = new Set<string>();
  private stopping = false;
  private loop: Promise<void> | null = null;
  private cancelWait: (() => void) | null = null;
  private readonly forwardRate = new RateMeter();
  private readonly receiveRate = new RateMeter();
  private readonly startedAt = Date.now();
  private readonly counters = {
    forwarded: 0,
    received: 0,
    resent: 0,
    refused: 0,
    loopsPrevented: 0,
    unmatched: 0,
    connects: 0,
    connectFailures: 0,
  };
  private lastError: BridgeStatus['lastError'] = null;
  private lastSuccessAt: number | null = null;
  private connectedSince: number | null = null;
  private disconnectedSince: number | null = Date.now();
  private nextAttemptAt: number | null = null;

  constructor(
    readonly config: BridgeConfig,
    private readonly upstream: Upstream,
    private readonly context: BridgeContext,
  ) {
    const { messagesPerSecond, burst } = config.rateLimit;
    this.outLimiter = new TokenBucket(messagesPerSecond, burst);
    this.inLimiter = new TokenBucket(messagesPerSecond, burst);
  }

  private get outbound(): boolean {
    return this.config.direction !== 'in';
  }
  private get queueName(): string {
    return bridgeQueueName(this.config.name);
  }
  private get log(): Logger {
    return this.context.logger;
  }

  // ── lifecycle ───────────────────────────────────────────────────────────────────────
  /** Creates the backlog queue, attaches to it, and starts connecting (in the background). */
  async start(): Promise<void> {
    if (this.outbound) {
      await this.ensureBacklogQueue();
      this.consumer = this.context.engine.consume(this.queueName, {
        label: `bridge:${this.config.name}`,
        // Credit, not prefetch: with no upstream the bridge grants none, so nothing is delivered
        // and nothing is released in a loop; credit comes back one per local settlement.
        flow: { mode: 'credit' },
        onDelivery: (delivery) => this.onDelivery(delivery),
        onClosed: (reason) => {
          this.consumer = null;
          this.recordError(`backlog queue consumer closed: ${reason}`);
        },
      });
    }
    this.loop = this.run();
  }

  /** The backlog queue: created on first start, brought in line with the config afterwards. */
  private async ensureBacklogQueue(): Promise<void> {
    const { engine } = this.context;
    const { queue } = this.config.out;
    const wanted = {
      subscriptions: this.config.out.topics.map((rule) => rule.filter),
      maxDepthMessages: queue.maxDepthMessages,
      maxDepthBytes: queue.maxDepthBytes,
      overflow: queue.overflow,
      maxRedelivery: queue.maxRedelivery,
      // One bridge consumer at a time keeps the order; a second one stands by.
      accessType: 'exclusive' as const,
    };
    const info = await engine.ensureQueue(this.queueName, wanted);
    const current = {
      subscriptions: info.config.subscriptions,
      maxDepthMessages: info.config.maxDepthMessages,
      maxDepthBytes: info.config.maxDepthBytes,
      overflow: info.config.overflow,
      maxRedelivery: info.config.maxRedelivery,
      accessType: info.config.accessType,
    };
    if (JSON.stringify(current) !== JSON.stringify(wanted)) await engine.updateQueue(this.queueName, wanted);
  }

  /**
   * Stops: no more deliveries, in-flight messages get a moment for their upstream ack, the rest
   * are released (kept, in order, for the next start), the connection closes. Call before the
   * engine closes.
   */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.consumer?.setCredit(0);
    const deadline = Date.now() + closeDrainMs;
    // Outbound waits for upstream acks; inbound for its commits, so the upstream gets its acks
    // instead of redelivering what is already stored.
    while (
      (this.inboundCommitting > 0 || this.inFlight.some((entry) => entry.outcome === 'pending')) &&
      Date.now() < deadline
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    this.outLimiter.close();
    this.inLimiter.close();
    this.sessionLost?.(null);
    this.cancelWait?.();
    await this.loop;
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.close({ failInFlight: false }).catch(() => {});
    this.state = 'stopped';
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopping) {
      this.state = 'connecting';
      this.nextAttemptAt = null;
      let session: UpstreamSession;
      const lost = new Promise<UpstreamError | null>((resolve) => (this.sessionLost = resolve));
      try {
        session = await this.upstream.connect({
          onMessage: (message) => this.onInbound(message),
          onClosed: (error) => this.lose(session, error),
        });
      } catch (error) {
        this.sessionLost = null;
        const failure = toUpstreamError(error);
        this.counters.connectFailures++;
        attempt++;
        this.recordError(failure.message, failure.kind);
        if (this.stopping) break;
        const refused = failure.kind === 'auth';
        this.state = refused ? 'refused' : 'waiting';
        // Refused credentials will not fix themselves soon: retry at the longest delay, never give up.
        await this.wait(
          refused
            ? this.config.reconnect.maxDelayMs
            : backoffDelayMs(attempt, this.config.reconnect.initialDelayMs, this.config.reconnect.maxDelayMs),
        );
        continue;
      }
      if (this.stopping) {
        await session.close().catch(() => {});
        break;
      }
      this.session = session;
      this.state = 'connected';
      this.counters.connects++;
      const connectedAt = Date.now();
      this.connectedSince = connectedAt;
      this.disconnectedSince = null;
      this.log.info({ bridge: this.config.name, upstream: this.upstream.address }, 'bridge connected');
      this.consumer?.setCredit(Math.min(this.config.out.window, session.window));

      const error = await lost;
      this.session = null;
      this.sessionLost = null;
      this.consumer?.setCredit(0);
      this.connectedSince = null;
      this.disconnectedSince = Date.now();
      await this.settleAfterLoss();
      await session.close().catch(() => {});
      if (this.stopping || error === null) break;
      this.recordError(error.message, error.kind);
      this.log.warn({ bridge: this.config.name, err: error.message }, 'bridge connection lost');
      attempt = Date.now() - connectedAt >= stableConnectionMs ? 1 : attempt + 1;
      this.state = error.kind === 'auth' ? 'refused' : 'waiting';
      await this.wait(backoffDelayMs(attempt, this.config.reconnect.initialDelayMs, this.config.reconnect.maxDelayMs));
    }
    this.state = 'stopped';
  }

  /** Ends the current session because of `error` (connection loss, or a send that cannot go on). */
  private lose(session: UpstreamSession | undefined, error: UpstreamError | null): void {
    if (session !== undefined && session !== this.session) return;
    // No new deliveries from here on; the loop settles what is in flight.
    this.session = null;
    this.consumer?.setCredit(0);
    this.sessionLost?.(error);
  }

  private wait(ms: number): Promise<void> {
    this.nextAttemptAt = Date.now() + ms;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cancelWait = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.cancelWait = done;
    });
  }

  private recordError(message: string, kind?: UpstreamError['kind']): void {
    this.lastError = {
      message,
      at: Date.now(),
      ...(kind !== undefined && kind !== 'refused-message' && { kind }),
    };
  }

  // ── outbound: engine queue → upstream ───────────────────────────────────────────────
  private onDelivery(delivery: Delivery): void {
    const session = this.session;
    const consumer = this.consumer;
    if (!consumer) return;
    if (!session || this.stopping) {
      // Dispatched just before the credit went to zero: give it back, its place kept.
      this.settle(consumer, delivery, 'release');
      return;
    }
    const entry: InFlight = { delivery, session, outcome: 'pending', sent: false };
    this.inFlight.push(entry);
    const { headers } = delivery.message;
    const hops = Number(headers[hopsHeader] ?? '0') || 0;
    // Loop prevention: never send back what this bridge brought in; stop at the hop limit.
    if (headers[bridgeHeader] === this.config.name || hops >= this.config.out.maxHops) {
      entry.outcome = 'skipped';
      this.counters.loopsPrevented++;
      this.drain();
      return;
    }
    this.sendChain = this.sendChain.then(() => this.send(entry, hops));
  }

  private async send(entry: InFlight, hops: number): Promise<void> {
    if (entry.session !== this.session || entry.outcome !== 'pending') return;
    await this.outLimiter.take();
    if (entry.session !== this.session || entry.outcome !== 'pending') return;
    const { message, deliveryCount } = entry.delivery;
    // A second delivery follows a crash mid-send; a released-after-send one follows an outage.
    if (this.releasedAfterSend.delete(message.id) || deliveryCount > 1) this.counters.resent++;
    entry.sent = true;
    const headers: Record<string, string> = { ...message.headers };
    delete headers[bridgeHeader];
    headers[originHeader] = message.headers[originHeader] ?? this.context.brokerId;
    headers[hopsHeader] = String(hops + 1);
    headers[messageIdHeader] = `${this.context.brokerId}:${message.id}`;
    const outbound: OutboundMessage = {
      topic: mapTopic(message.topic, this.config.out.topics, 'out'),
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
        this.counters.forwarded++;
        this.forwardRate.add();
        this.lastSuccessAt = Date.now();
        this.drain();
      },
      (error: unknown) => {
        if (entry.outcome !== 'pending') return;
        const failure = toUpstreamError(error);
        if (failure.kind === 'refused-message') {
          // Refused for good: to the DMQ with the upstream's words, the rest goes on in order.
          entry.outcome = 'refused';
          entry.error = failure.message;
          this.counters.refused++;
          this.recordError(failure.message);
          this.drain();
        } else this.lose(entry.session, failure);
      },
    );
  }

  /** Settles finished deliveries from the head of the line, so acks commit in queue order. */
  private drain(): void {
    const consumer = this.consumer;
    while (this.inFlight.length > 0 && this.inFlight[0]!.outcome !== 'pending') {
      const entry = this.inFlight.shift()!;
      if (!consumer) continue;
      this.settle(consumer, entry.delivery, entry.outcome === 'refused' ? 'reject' : 'ack', entry.error);
      if (this.session === entry.session && !this.stopping) consumer.addCredit(1);
    }
  }

  /** After a connection loss: acknowledged ones are acked, the rest released in order (not counted as attempts). */
  private async settleAfterLoss(): Promise<void> {
    await this.sendChain;
    const consumer = this.consumer;
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
      this.log.warn(
        { bridge: this.config.name, err: (failure as Error).message, deliveryId: delivery.deliveryId },
        `bridge could not ${outcome} a delivery`,
      ),
    );
  }

  // ── inbound: upstream → engine ──────────────────────────────────────────────────────
  /** Publishes one upstream message; resolving lets the adapter acknowledge it upstream. */
  private async onInbound(message: InboundMessage): Promise<void> {
    const { headers } = message;
    const hops = Number(headers[hopsHeader] ?? '0') || 0;
    // Loop prevention: our own messages coming back, or a message that went round too often.
    if (headers[originHeader] === this.context.brokerId || hops >= this.config.out.maxHops) {
      this.counters.loopsPrevented++;
      return;
    }
    const rules = this.config.in.topics;
    if (rules.length > 0 && !rules.some((rule) => topicMatches(rule.filter, message.topic))) {
      this.counters.unmatched++;
      return;
    }
    await this.inLimiter.take();
    if (this.stopping) throw new UpstreamError('local', 'bridge stopping');
    this.inboundCommitting++;
    try {
      await this.context.engine.publish({
        topic: mapTopic(message.topic, rules, 'in'),
        payload: message.payload,
        headers: { ...headers, [bridgeHeader]: this.config.name, [hopsHeader]: String(hops + 1) },
        publisher: `bridge:${this.config.name}`,
        protocol: 'bridge',
        ...(message.contentType !== undefined && { contentType: message.contentType }),
        ...(message.correlationId !== undefined && { correlationId: message.correlationId }),
        ...(message.replyTo !== undefined && { replyTo: message.replyTo }),
        ...(message.priority !== undefined && { priority: message.priority }),
        ...(message.expiresAt !== undefined && { expiresAt: message.expiresAt }),
      });
    } catch (error) {
      const refused = error instanceof SluiceError && permanentPublishErrors.has(error.code);
      if (refused) this.counters.refused++;
      const text = `inbound message on "${message.topic}" not stored: ${(error as Error).message}`;
      this.recordError(text);
      throw new UpstreamError(refused ? 'refused-message' : 'local', text);
    } finally {
      this.inboundCommitting--;
    }
    this.counters.received++;
    this.receiveRate.add();
    this.lastSuccessAt = Date.now();
  }

  // ── status ──────────────────────────────────────────────────────────────────────────
  status(): BridgeStatus {
    const now = Date.now();
    let backlog = { depth: 0, bytes: 0 };
    if (this.outbound)
      try {
        const info = this.context.engine.getQueue(this.queueName);
        backlog = { depth: info.depth, bytes: info.bytes };
      } catch {
        // queue deleted underneath us: reported through lastError
      }
    const { queue } = this.config.out;
    const status: Omit<BridgeStatus, 'alarms'> = {
      name: this.config.name,
      protocol: this.config.upstream.protocol,
      direction: this.config.direction,
      upstream: this.upstream.address,
      state: this.state,
      connected: this.state === 'connected',
      queue: this.outbound ? this.queueName : null,
      backlog: backlog.depth,
      backlogBytes: backlog.bytes,
      backlogLimitMessages: this.outbound ? queue.maxDepthMessages : null,
      backlogLimitBytes: this.outbound ? queue.maxDepthBytes : null,
      overflow: this.outbound ? queue.overflow : null,
      inFlight: this.inFlight.filter((entry) => entry.sent && entry.outcome === 'pending').length,
      ...this.counters,
      forwardRatePerSecond: this.forwardRate.perSecond(),
      receiveRatePerSecond: this.receiveRate.perSecond(),
      lastError: this.lastError,
      lastSuccessAt: this.lastSuccessAt,
      sinceLastSuccessMs: now - (this.lastSuccessAt ?? this.startedAt),
      connectedSince: this.connectedSince,
      disconnectedSince: this.state === 'stopped' ? null : this.disconnectedSince,
      nextAttemptAt: this.nextAttemptAt,
    };
    return { ...status, alarms: alarmsFor(status, now) };
  }
}

/** The status of a bridge that is configured but not enabled. */
export function disabledStatus(config: BridgeConfig, address: string): BridgeStatus {
  return {
    name: config.name,
    protocol: config.upstream.protocol,
    direction: config.direction,
    upstream: address,
    state: 'stopped',
    connected: false,
    queue: null,
    backlog: 0,
    backlogBytes: 0,
    backlogLimitMessages: null,
    backlogLimitBytes: null,
    overflow: null,
    inFlight: 0,
    forwarded: 0,
    received: 0,
    forwardRatePerSecond: 0,
    receiveRatePerSecond: 0,
    resent: 0,
    refused: 0,
    loopsPrevented: 0,
    unmatched: 0,
    connects: 0,
    connectFailures: 0,
    lastError: null,
    lastSuccessAt: null,
    sinceLastSuccessMs: 0,
    connectedSince: null,
    disconnectedSince: null,
    nextAttemptAt: null,
    alarms: [],
  };
}

/** Maps a topic through the first rule whose filter matches it; unchanged when none does. */
export function mapTopic(topic: string, rules: readonly TopicRule[], direction: 'out' | 'in'): string {
  const rule = rules.find((candidate) => topicMatches(candidate.filter, topic));
  if (!rule) return topic;
  return direction === 'out'
    ? rewriteTopic(topic, rule.localPrefix, rule.remotePrefix)
    : rewriteTopic(topic, rule.remotePrefix, rule.localPrefix);
}
