import type { Logger } from 'pino';
import type { MqttPersistenceStore } from '../../store/mqtt-persistence-store.ts';
import type { Committer } from './persistence.ts';

/** Session expiry interval meaning "never" (§3.1.2.11.2). */
export const neverExpires = 0xffff_ffff;
/** Longest delay a Node timer holds; a later deadline is reached in several steps. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * MQTT 5 session expiry (§3.1.2.11.2, §4.1): a persistent session outlives its connection by its
 * session expiry interval, then it is discarded (its engine queue `mqtt/<clientId>` and stored
 * subscriptions go). A reconnect within the interval cancels the countdown.
 *
 * The deadline is stored (table `mqtt_session_expiry`, written in the engine's group commit), so a
 * countdown survives a broker restart: `restore()` discards the sessions whose deadline passed while
 * the broker was down and re-arms the others. "Never" (0xFFFFFFFF) has no row.
 */
export class SessionExpiry {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Client ids with a stored deadline (so that a connect writes only when there is one to delete). */
  private readonly stored = new Set<string>();
  private closed = false;

  constructor(
    /** Discards the persistent session of a client id (queue and subscriptions). */
    private readonly discard: (clientId: string) => Promise<void>,
    /** True while a connection with that client id is up: its session is not expired. */
    private readonly connected: (clientId: string) => boolean,
    private readonly store: MqttPersistenceStore,
    private readonly commit: Committer,
    private readonly logger: Logger,
  ) {}

  /**
   * At start-up, before clients connect: sessions whose deadline passed while the broker was down
   * are discarded now, the others count down again from their stored deadline. A session whose
   * client was connected when the broker stopped (a crash leaves no deadline) counts down its
   * session expiry interval from now: its connection ended with the broker.
   */
  async restore(now = Date.now()): Promise<void> {
    for (const { clientId, expiresAt, intervalSec } of this.store.loadSessionExpiries()) {
      this.stored.add(clientId);
      if (expiresAt === null && intervalSec === 0) await this.expire(clientId);
      else if (expiresAt === null) await this.schedule(clientId, intervalSec, now);
      else if (expiresAt <= now) await this.expire(clientId);
      else this.arm(clientId, expiresAt);
    }
  }

  /**
   * A client connected to its kept session, which will outlive the connection by `expirySec`
   * (0xFFFFFFFF or null: it never expires): a countdown stops, and the interval is stored so that
   * the session expires even when the broker dies under the connection.
   */
  async resumed(clientId: string, expirySec: number | null): Promise<void> {
    if (expirySec === null || expirySec >= neverExpires) return this.cancel(clientId);
    this.clearTimer(clientId);
    this.stored.add(clientId);
    await this.commit((tx) => this.store.putConnectedSession(tx, clientId, expirySec)).catch((error: unknown) => {
      this.logger.warn({ err: error, clientId }, 'mqtt: storing a session expiry interval failed');
    });
  }

  /**
   * The connection of `clientId` ended: its session expires after `expirySec` seconds. Resolves once
   * the deadline is stored. After `close()` the deadline is only stored (the next start arms it).
   */
  async schedule(clientId: string, expirySec: number, now = Date.now()): Promise<void> {
    if (expirySec >= neverExpires) return this.cancel(clientId);
    this.clearTimer(clientId);
    const expiresAt = now + expirySec * 1000;
    this.stored.add(clientId);
    const written = this.write(clientId, expiresAt);
    if (!this.closed) this.arm(clientId, expiresAt);
    await written;
  }

  /** A client with this id connected again and its session never expires: its stored deadline goes. */
  async cancel(clientId: string): Promise<void> {
    this.clearTimer(clientId);
    if (!this.stored.delete(clientId)) return;
    await this.write(clientId, null);
  }

  /** Stops every countdown (the listener closes; sessions and their stored deadlines stay). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private arm(clientId: string, expiresAt: number): void {
    const delay = Math.max(0, expiresAt - Date.now());
    const timer = setTimeout(
      () => {
        this.timers.delete(clientId);
        if (Date.now() < expiresAt) return this.arm(clientId, expiresAt);
        this.expire(clientId).catch(() => {});
      },
      Math.min(delay, maxTimerMs),
    );
    timer.unref();
    this.timers.set(clientId, timer);
  }

  private clearTimer(clientId: string): void {
    const timer = this.timers.get(clientId);
    if (timer) clearTimeout(timer);
    this.timers.delete(clientId);
  }

  private write(clientId: string, expiresAt: number | null): Promise<void> {
    return this.commit((tx) => this.store.putSessionExpiry(tx, clientId, expiresAt)).catch((error: unknown) => {
      this.logger.warn({ err: error, clientId }, 'mqtt: storing a session expiry deadline failed');
    });
  }

  private async expire(clientId: string): Promise<void> {
    if (this.connected(clientId)) return;
    try {
      await this.discard(clientId);
      // Still ours (no reconnect or new countdown meanwhile): the deadline row goes with the session.
      if (!this.timers.has(clientId) && !this.connected(clientId) && this.stored.delete(clientId))
        await this.write(clientId, null);
      this.logger.info({ clientId }, 'mqtt: session expired and was discarded');
    } catch (error) {
      this.logger.warn({ err: error, clientId }, 'mqtt: discarding an expired session failed');
    }
  }
}
