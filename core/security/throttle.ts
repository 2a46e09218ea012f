/**
 * Brute-force slowdown, per (user name, address) pair (issue 16): once `freeAttempts` logins
 * failed for a user name from one address, each further attempt of that pair waits
 * `baseDelayMs × 2^(failures − freeAttempts)`, capped at `maxDelayMs`, before its password is
 * even checked. Keyed by the pair, an attacker elsewhere cannot slow down (lock out) the user
 * from its own address.
 *
 * Attempts of one pair take turns (`turn`): each starts once the one before it has ended, so it
 * sees how that one ended. 30 parallel guesses are then not 30 free ones, and 16 devices behind
 * one gateway logging in at once with the right password (a broker restart) are not taken for
 * an attack: the first success clears the record before the second begins. An attempt is
 * counted as a failure when it begins, before the slow path. A success clears the pair's record; a record is forgotten `forgetAfterMs` after its last attempt. At most
 * 10 000 records are kept (least recently failed dropped), so a spray of names or addresses
 * cannot grow memory.
 */

/** Throttle tuning (config `security.bruteForce`). */
export interface ThrottleOptions {
  readonly freeAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly forgetAfterMs: number;
}

/** An attempt's bookkeeping, from `begin`. */
export interface LoginAttempt {
  /** How long it must wait before its password is checked. */
  readonly delayMs: number;
  /** Failures counted for this pair, this attempt included. */
  readonly failures: number;
}

const maxRecords = 10_000;

/** Failed-login bookkeeping per (user, address) pair. */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; lastAt: number }>();

  /** The last attempt in line per pair, while any is in progress. */
  private readonly lines = new Map<string, Promise<void>>();

  constructor(private readonly options: ThrottleOptions) {}

  /** Waits until the pair's attempts before this one have ended; call the answer when this one has. */
  async turn(user: string, address: string | undefined): Promise<() => void> {
    const key = pairKey(user, address);
    const before = this.lines.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const last = before.then(() => mine);
    this.lines.set(key, last);
    await before;
    return () => {
      done();
      if (this.lines.get(key) === last) this.lines.delete(key);
    };
  }

  /** Counts an attempt as failed until `succeeded` says otherwise; returns its delay. */
  begin(user: string, address: string | undefined, now = Date.now()): LoginAttempt {
    const key = pairKey(user, address);
    const previous = this.failures.get(key);
    const before = previous && now - previous.lastAt <= this.options.forgetAfterMs ? previous.count : 0;
    this.failures.delete(key); // re-insert: Map order is then least-recently-failed first
    this.failures.set(key, { count: before + 1, lastAt: now });
    if (this.failures.size > maxRecords) this.failures.delete(this.failures.keys().next().value!);
    const extra = before - this.options.freeAttempts;
    const delayMs =
      extra < 0 ? 0 : Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(extra, 30));
    return { delayMs, failures: before + 1 };
  }

  /** A success clears the pair's record. */
  succeeded(user: string, address: string | undefined): void {
    this.failures.delete(pairKey(user, address));
  }
}

function pairKey(user: string, address: string | undefined): string {
  return `${user}\u0000${address ?? ''}`;
}
