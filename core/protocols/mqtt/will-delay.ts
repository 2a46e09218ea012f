import type { Logger } from 'pino';
import { willPublishAtField, type AedesPacket, type SqlitePersistence } from './persistence.ts';

/** Longest delay a Node timer holds; a later deadline is reached in several steps. */
const maxTimerMs = 2 ** 31 - 1;

/** The Will Delay Interval of a will (MQTT 5 will properties), in seconds; 0 without one. */
export function willDelaySec(will: AedesPacket): number {
  const properties = will.properties as { willDelayInterval?: number } | undefined;
  return properties?.willDelayInterval ?? 0;
}

/** A will held back until it is due. */
interface Pending {
  readonly will: AedesPacket;
  /** The connection that left it (null after a restart), for the publish's authorization. */
  readonly client: unknown;
  timer: NodeJS.Timeout | null;
}

/**
 * MQTT 5 Will Delay Interval (§3.1.3.2.2, §3.1.2.5): after a connection ends without DISCONNECT 0x00,
 * its will is published when the will delay has passed or the session ends, whichever comes first
 * [MQTT-3.1.2-8]; a new connection to that session before then means the will is not sent at all
 * [MQTT-3.1.3-9]. A new connection with Clean Start 1 ends the old session: its will goes out then.
 *
 * The held will stays in the will store with its due time (`willPublishAtField`), so a restart
 * keeps it; the will of a client that was connected when the broker died is held from the restart.
 */
export class WillDelay {
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(
    private readonly persistence: SqlitePersistence,
    /** Publishes a will as aedes does (authorizePublish on its connection, or null after a restart). */
    private readonly publish: (will: AedesPacket, client: unknown) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /**
   * The connection of `clientId` ended and `will` is due: held back for `delaySec` (the smaller of
   * the will delay and the session expiry interval). Returns false when it is due now.
   */
  defer(clientId: string, will: AedesPacket, delaySec: number, client: unknown): boolean {
    if (delaySec <= 0) return false;
    this.hold(clientId, will, Date.now() + delaySec * 1000, client, true);
    return true;
  }

  /**
   * A client connected with this id: a held will is dropped when the connection resumes the
   * session [MQTT-3.1.3-9], published now when it starts a new one (the old session ended).
   */
  async connected(clientId: string, resumesSession: boolean): Promise<void> {
    const entry = this.take(clientId);
    if (!entry) return;
    if (resumesSession) {
      this.logger.info({ clientId }, 'mqtt: client back within its will delay, the will is not sent');
      await this.persistence.releaseWill(clientId, entry.will);
    } else await this.fire(clientId, entry);
  }

  /** The session of `clientId` ended (expired): its held will is due now. */
  async sessionEnded(clientId: string): Promise<void> {
    const entry = this.take(clientId);
    if (entry) await this.fire(clientId, entry);
  }

  /**
   * At start-up: held wills count down again from their stored due time; a will with a will delay
   * whose client was connected when the broker died (stored by another broker id, not held) is held
   * from now, at most until its session's stored deadline (`sessionDeadline`).
   */
  restore(brokerId: string, sessionDeadline: (clientId: string) => number | undefined, now = Date.now()): void {
    for (const [clientId, will] of this.persistence.storedWills()) {
      const publishAt = will[willPublishAtField];
      if (typeof publishAt === 'number') this.hold(clientId, will, publishAt, null, false);
      else if (will.brokerId !== brokerId && willDelaySec(will) > 0) {
        const due = Math.min(now + willDelaySec(will) * 1000, sessionDeadline(clientId) ?? Infinity);
        this.hold(clientId, will, due, null, true);
      }
    }
  }

  /** Stops the countdowns (the listener closes); held wills stay stored for the next start. */
  close(): void {
    this.closed = true;
    for (const entry of this.pending.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  private hold(clientId: string, will: AedesPacket, publishAt: number, client: unknown, store: boolean): void {
    this.take(clientId);
    const entry: Pending = { will, client, timer: null };
    this.pending.set(clientId, entry);
    if (store)
      this.persistence.deferWill(clientId, will, publishAt).catch((error: unknown) => {
        this.logger.warn({ err: error, clientId }, 'mqtt: storing a delayed will failed');
      });
    else will[willPublishAtField] = publishAt;
    if (!this.closed) this.arm(clientId, entry, publishAt);
  }

  private arm(clientId: string, entry: Pending, publishAt: number): void {
    entry.timer = setTimeout(
      () => {
        entry.timer = null;
        if (this.pending.get(clientId) !== entry) return;
        if (Date.now() < publishAt) return this.arm(clientId, entry, publishAt);
        this.pending.delete(clientId);
        this.fire(clientId, entry).catch(() => {});
      },
      Math.min(Math.max(0, publishAt - Date.now()), maxTimerMs),
    );
    entry.timer.unref();
  }

  private take(clientId: string): Pending | undefined {
    const entry = this.pending.get(clientId);
    if (!entry) return undefined;
    this.pending.delete(clientId);
    if (entry.timer) clearTimeout(entry.timer);
    return entry;
  }

  /** Publishes a held will, then removes it from the store (at least once across a crash). */
  private async fire(clientId: string, entry: Pending): Promise<void> {
    try {
      await this.publish(entry.will, entry.client);
      this.logger.info({ clientId, topic: entry.will.topic }, 'mqtt: delayed will published');
    } catch (error) {
      this.logger.warn({ err: error, clientId }, 'mqtt: publishing a delayed will failed');
    }
    await this.persistence.releaseWill(clientId, entry.will).catch((error: unknown) => {
      this.logger.warn({ err: error, clientId }, 'mqtt: removing a published will failed');
    });
  }
}
