import type { Logger } from 'pino';

/** Session expiry interval meaning "never" (§3.1.2.11.2). */
export const neverExpires = 0xffff_ffff;
/** Longest delay a Node timer holds; longer intervals last until the broker restarts. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * MQTT 5 session expiry (§3.1.2.11.2, §4.1): a persistent session outlives its connection by its
 * session expiry interval, then it is discarded (its engine queue `mqtt/<clientId>` and stored
 * subscriptions go). A reconnect within the interval cancels the countdown.
 */
export class SessionExpiry {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    /** Discards the persistent session of a client id (queue and subscriptions). */
    private readonly discard: (clientId: string) => Promise<void>,
    /** True while a connection with that client id is up: its session is not expired. */
    private readonly connected: (clientId: string) => boolean,
    private readonly logger: Logger,
  ) {}

  /** The connection of `clientId` ended: its session expires after `expirySec` seconds. */
  schedule(clientId: string, expirySec: number): void {
    this.cancel(clientId);
    if (expirySec >= neverExpires || expirySec * 1000 > maxTimerMs) return;
    const timer = setTimeout(() => {
      this.timers.delete(clientId);
      this.expire(clientId);
    }, expirySec * 1000);
    timer.unref();
    this.timers.set(clientId, timer);
  }

  /** A client with this id connected again: its session lives on. */
  cancel(clientId: string): void {
    const timer = this.timers.get(clientId);
    if (timer) clearTimeout(timer);
    this.timers.delete(clientId);
  }

  /** Stops every countdown (the listener closes; sessions stay as they are). */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private expire(clientId: string): void {
    if (this.connected(clientId)) return;
    this.discard(clientId).then(
      () => this.logger.info({ clientId }, 'mqtt: session expired and was discarded'),
      (error: unknown) => this.logger.warn({ err: error, clientId }, 'mqtt: discarding an expired session failed'),
    );
  }
}
