/**
 * Brute-force slowdown: once `freeAttempts` logins failed for a user name or from an address,
 * each further attempt for it waits `baseDelayMs × 2^(failures − freeAttempts)`, capped at
 * `maxDelayMs`, before its password is even checked. A success clears the user's and the
 * address's record; a record is forgotten `forgetAfterMs` after its last failure. At most
 * 10 000 records are kept (oldest dropped), so a spray of addresses cannot grow memory.
 */

/** Throttle tuning (config `security.bruteForce`). */
export interface ThrottleOptions {
  readonly freeAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly forgetAfterMs: number;
}

const maxRecords = 10_000;

/** Failed-login bookkeeping per user and per address. */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; lastAt: number }>();

  constructor(private readonly options: ThrottleOptions) {}

  /** How long an attempt by `user` from `address` must wait now. */
  delayMs(user: string | undefined, address: string | undefined, now = Date.now()): number {
    return Math.max(this.delayFor(`user:${user ?? ''}`, now), this.delayFor(`address:${address ?? ''}`, now));
  }

  /** Records a failure; returns the failure counts for the log. */
  failed(user: string | undefined, address: string | undefined, now = Date.now()): { user: number; address: number } {
    return { user: this.bump(`user:${user ?? ''}`, now), address: this.bump(`address:${address ?? ''}`, now) };
  }

  /** A success clears both records. */
  succeeded(user: string | undefined, address: string | undefined): void {
    this.failures.delete(`user:${user ?? ''}`);
    this.failures.delete(`address:${address ?? ''}`);
  }

  private delayFor(key: string, now: number): number {
    const record = this.failures.get(key);
    if (!record) return 0;
    if (now - record.lastAt > this.options.forgetAfterMs) {
      this.failures.delete(key);
      return 0;
    }
    const extra = record.count - this.options.freeAttempts;
    if (extra < 0) return 0;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(extra, 30));
  }

  private bump(key: string, now: number): number {
    const previous = this.failures.get(key);
    const count = previous && now - previous.lastAt <= this.options.forgetAfterMs ? previous.count + 1 : 1;
    this.failures.delete(key); // re-insert: Map order is then least-recently-failed first
    this.failures.set(key, { count, lastAt: now });
    if (this.failures.size > maxRecords) this.failures.delete(this.failures.keys().next().value!);
    return count;
  }
}
