import type { Logger } from 'pino';
import type { Consumer } from '../engine/consumer.ts';
import type { Engine } from '../engine/engine.ts';
import type { BridgeConfig } from '../schema/bridge-config.ts';
import { alarmsFor, type BridgeState, type BridgeStatus } from '../schema/bridge-status.ts';
import { Inbound, Outbound, type BridgeCounters, type BridgeLink } from './forwarding.ts';
import { toUpstreamError, type UpstreamError, type Upstream, type UpstreamSession } from './upstream.ts';
import { backoffDelayMs } from '../pacing.ts';

/** A connection held this long before it failed counts as up: the backoff starts over. */
const stableConnectionMs = 10_000;
/** On close, in-flight messages get this long for their upstream ack before they are released. */
const closeDrainMs = 2000;

/** The engine queue holding a bridge's outbound backlog. */
export function bridgeQueueName(name: string): string {
  return `bridge/${name}`;
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
  /** Engine queue → upstream. */
  private readonly outbound: Outbound;
  /** Upstream → engine. */
  private readonly inbound: Inbound;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private cancelWait: (() => void) | null = null;
  private readonly startedAt = Date.now();
  private readonly counters: BridgeCounters = {
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
    const link: BridgeLink = {
      config,
      engine: context.engine,
      brokerId: context.brokerId,
      log: context.logger,
      counters: this.counters,
      consumer: () => this.consumer,
      session: () => this.session,
      stopping: () => this.stopping,
      lose: (session, error) => this.lose(session, error),
      recordError: (message) => this.recordError(message),
      succeeded: () => {
        this.lastSuccessAt = Date.now();
      },
    };
    this.outbound = new Outbound(link);
    this.inbound = new Inbound(link);
  }

  private get sendsOut(): boolean {
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
    if (this.sendsOut) {
      await this.ensureBacklogQueue();
      this.consumer = this.context.engine.consume(this.queueName, {
        label: `bridge:${this.config.name}`,
        // Credit, not prefetch: with no upstream the bridge grants none, so nothing is delivered
        // and nothing is released in a loop; credit comes back one per local settlement.
        flow: { mode: 'credit' },
        onDelivery: (delivery) => this.outbound.onDelivery(delivery),
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
    while ((this.inbound.committing > 0 || this.outbound.pending) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    this.outbound.limiter.close();
    this.inbound.limiter.close();
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
          onMessage: (message) => this.inbound.onMessage(message),
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
      await this.outbound.settleAfterLoss();
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

  // ── status ──────────────────────────────────────────────────────────────────────────
  status(): BridgeStatus {
    const now = Date.now();
    let backlog = { depth: 0, bytes: 0 };
    if (this.sendsOut)
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
      queue: this.sendsOut ? this.queueName : null,
      backlog: backlog.depth,
      backlogBytes: backlog.bytes,
      backlogLimitMessages: this.sendsOut ? queue.maxDepthMessages : null,
      backlogLimitBytes: this.sendsOut ? queue.maxDepthBytes : null,
      overflow: this.sendsOut ? queue.overflow : null,
      inFlight: this.outbound.sentInFlight,
      ...this.counters,
      forwardRatePerSecond: this.outbound.rate.perSecond(),
      receiveRatePerSecond: this.inbound.rate.perSecond(),
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
