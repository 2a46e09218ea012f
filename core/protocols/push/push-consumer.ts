import type http from 'node:http';
import type { Logger } from 'pino';
import type { Consumer, Delivery } from '../../engine/consumer.ts';
import type { Engine } from '../../engine/engine.ts';
import {
  pushDownAlarmMs,
  type PushAlarm,
  type PushConsumerConfig,
  type PushState,
  type PushStatus,
} from '../../schema/push-config.ts';
import { attemptDelivery, pushAgent, type AttemptOutcome } from './http-delivery.ts';
import { backoffDelayMs, RateMeter } from '../../pacing.ts';

/** Failed attempts in a row without any answer before the state says `endpoint-down`. */
const downAfterFailures = 3;
/** On stop, requests under way get this long to be answered before they are released. */
const stopDrainMs = 2000;
/** How often a push consumer whose queue is missing looks for it again. */
const attachRetryMs = 1000;

/**
 * One push consumer (DESIGN.md "Growing the doors"): a credit-mode consumer of its queue that
 * turns each delivery into an HTTP request and settles it from the answer — ack, reject (to
 * the DMQ) or fail (redelivered, counted toward max redelivery). The engine's state machine
 * decides what each settlement means; this class only maps answers and paces the retries.
 *
 * Credit is the concurrency: one per request slot, given back when the attempt is settled, or
 * when the backoff after a failure ends. So with concurrency 1 a failed message is the next one
 * delivered again (it returns to its place at the head of the queue) and order holds.
 */
export class PushConsumer {
  private consumer: Consumer | null = null;
  private readonly agent: http.Agent;
  private readonly requests = new Map<number, AbortController>();
  private stopping = false;
  private attachTimer: NodeJS.Timeout | null = null;
  private creditTimer: NodeJS.Timeout | null = null;
  /** Credit held back until the backoff ends. */
  private heldCredit = 0;
  private pausedUntil = 0;
  private consecutiveFailures = 0;
  private unreachableSince: number | null = null;
  private readonly rate = new RateMeter();
  private readonly startedAt = Date.now();
  private readonly counters = { delivered: 0, retried: 0, rejected: 0 };
  private lastStatusCode: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private lastSuccessAt: number | null = null;
  private lastAttemptUnreachable = false;

  constructor(
    readonly config: PushConsumerConfig,
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {
    this.agent = pushAgent(config);
  }

  /** Attaches to the queue (or keeps looking for it, once a second, while it is missing). */
  start(): void {
    if (this.stopping || this.consumer) return;
    if (!this.engine.queueByName(this.config.queue)) {
      this.attachTimer ??= setInterval(() => this.start(), attachRetryMs).unref();
      return;
    }
    if (this.attachTimer) clearInterval(this.attachTimer);
    this.attachTimer = null;
    this.consumer = this.engine.consume(this.config.queue, {
      label: `push:${this.config.name}`,
      // Credit, not prefetch: credit comes back only when the backoff allows the next attempt.
      flow: { mode: 'credit' },
      onDelivery: (delivery) => void this.deliver(delivery),
      onClosed: (reason) => {
        this.consumer = null;
        this.recordError(`queue consumer closed: ${reason}`);
        if (!this.stopping) this.start();
      },
    });
    this.consumer.addCredit(this.config.concurrency);
    this.log.info({ queue: this.config.queue, url: this.config.url }, 'push consumer attached');
  }

  /**
   * Stops: no more deliveries; requests under way get a moment for their answer, the rest are
   * aborted and released (not counted: the endpoint may have them, the message id lets it tell).
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.attachTimer) clearInterval(this.attachTimer);
    if (this.creditTimer) clearTimeout(this.creditTimer);
    this.consumer?.setCredit(0);
    const deadline = Date.now() + stopDrainMs;
    while (this.requests.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const controller of this.requests.values()) controller.abort();
    while (this.requests.size > 0) await new Promise((r) => setTimeout(r, 5));
    await this.consumer?.close({ failInFlight: false });
    this.consumer = null;
    this.agent.destroy();
  }

  // ── one delivery: send → classify → settle → pace ──────────────────────────────────
  private async deliver(delivery: Delivery): Promise<void> {
    const controller = new AbortController();
    this.requests.set(delivery.deliveryId, controller);
    let outcome: AttemptOutcome;
    try {
      outcome = await attemptDelivery(
        this.config,
        this.agent,
        delivery.message,
        { queue: delivery.queue, deliveryCount: delivery.deliveryCount, redelivered: delivery.deliveryCount > 1 },
        controller.signal,
      );
      await this.settle(delivery, outcome, controller.signal.aborted);
    } catch (error) {
      // Settling failed (queue deleted, broker closing): the engine keeps the entry either way.
      this.log.warn({ err: error, deliveryId: delivery.deliveryId }, 'push consumer could not settle a delivery');
    } finally {
      this.requests.delete(delivery.deliveryId);
    }
  }

  private async settle(delivery: Delivery, outcome: AttemptOutcome, aborted: boolean): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    if (aborted) {
      await consumer.release(delivery.deliveryId);
      return;
    }
    switch (outcome.kind) {
      case 'ack':
        await consumer.ack(delivery.deliveryId);
        this.counters.delivered++;
        this.rate.add();
        this.answered(outcome.status);
        this.lastSuccessAt = Date.now();
        this.giveCredit();
        return;
      case 'reject':
        // A refusal for good: to the DMQ with the endpoint's status and the start of its body.
        await consumer.reject(delivery.deliveryId, outcome.error);
        this.counters.rejected++;
        this.answered(outcome.status);
        this.recordError(outcome.error);
        this.giveCredit();
        return;
      case 'retry': {
        // Counted toward the queue's max redelivery; past it the engine dead-letters the message
        // with reason max-redelivery and this error.
        await consumer.fail(delivery.deliveryId, outcome.error);
        this.counters.retried++;
        this.consecutiveFailures++;
        this.lastStatusCode = outcome.status ?? this.lastStatusCode;
        this.lastAttemptUnreachable = outcome.unreachable;
        if (outcome.unreachable) this.unreachableSince ??= Date.now();
        else this.unreachableSince = null;
        this.recordError(outcome.error);
        const { initialDelayMs, maxDelayMs, maxRetryAfterMs } = this.config.retry;
        const delayMs =
          outcome.retryAfterMs !== null
            ? Math.min(outcome.retryAfterMs, maxRetryAfterMs)
            : backoffDelayMs(this.consecutiveFailures, initialDelayMs, maxDelayMs);
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delayMs);
        this.giveCredit();
        return;
      }
    }
  }

  private answered(status: number): void {
    this.lastStatusCode = status;
    this.consecutiveFailures = 0;
    this.unreachableSince = null;
    this.lastAttemptUnreachable = false;
    this.pausedUntil = 0;
  }

  /** One request slot free again: now, or when the backoff ends. */
  private giveCredit(): void {
    if (this.stopping) return;
    this.heldCredit++;
    const waitMs = this.pausedUntil - Date.now();
    if (waitMs > 0) {
      if (this.creditTimer) clearTimeout(this.creditTimer);
      this.creditTimer = setTimeout(() => this.releaseHeldCredit(), waitMs).unref();
      return;
    }
    this.releaseHeldCredit();
  }

  private releaseHeldCredit(): void {
    this.creditTimer = null;
    if (this.stopping || this.heldCredit === 0) return;
    const n = this.heldCredit;
    this.heldCredit = 0;
    this.consumer?.addCredit(n);
  }

  private recordError(message: string): void {
    this.lastError = { message, at: Date.now() };
  }

  // ── status ─────────────────────────────────────────────────────────────────────────
  status(now = Date.now()): PushStatus {
    const queue = this.engine.queueByName(this.config.queue);
    const state = this.state(now);
    const alarms: PushAlarm[] = [];
    if (!queue) alarms.push('queue-missing');
    if (this.unreachableSince !== null && now - this.unreachableSince >= pushDownAlarmMs) alarms.push('endpoint-down');
    if (this.counters.rejected > 0) alarms.push('messages-rejected');
    return {
      name: this.config.name,
      queue: this.config.queue,
      url: this.config.url,
      enabled: this.config.enabled,
      state,
      backlog: queue?.depth ?? 0,
      inFlight: this.requests.size,
      delivered: this.counters.delivered,
      retried: this.counters.retried,
      rejected: this.counters.rejected,
      ratePerSecond: this.rate.perSecond(),
      lastStatusCode: this.lastStatusCode,
      lastError: this.lastError,
      lastSuccessAt: this.lastSuccessAt,
      sinceLastSuccessMs: now - (this.lastSuccessAt ?? this.startedAt),
      consecutiveFailures: this.consecutiveFailures,
      nextAttemptAt: this.pausedUntil > now ? this.pausedUntil : null,
      alarms,
    };
  }

  private state(now: number): PushState {
    if (this.stopping || !this.consumer) return 'stopped';
    if (this.lastAttemptUnreachable && this.consecutiveFailures >= downAfterFailures) return 'endpoint-down';
    if (this.pausedUntil > now) return 'backing-off';
    return 'delivering';
  }
}

/** The status of a push consumer that is configured but not running. */
export function stoppedStatus(config: PushConsumerConfig, engine: Engine): PushStatus {
  const queue = engine.queueByName(config.queue);
  return {
    name: config.name,
    queue: config.queue,
    url: config.url,
    enabled: config.enabled,
    state: 'stopped',
    backlog: queue?.depth ?? 0,
    inFlight: 0,
    delivered: 0,
    retried: 0,
    rejected: 0,
    ratePerSecond: 0,
    lastStatusCode: null,
    lastError: null,
    lastSuccessAt: null,
    sinceLastSuccessMs: 0,
    consecutiveFailures: 0,
    nextAttemptAt: null,
    alarms: queue ? [] : ['queue-missing'],
  };
}
