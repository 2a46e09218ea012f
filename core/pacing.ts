/**
 * Pacing helpers shared by the clients Sluice runs itself (bridges to upstream brokers, HTTP push
 * consumers): reconnect and retry backoff, and a short-window event rate.
 */

/** Exponential backoff with equal jitter: half fixed, half random, capped. */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Counts events in one-second buckets over the last 10 s. */
export class RateMeter {
  private readonly buckets = new Array<number>(10).fill(0);
  private second = Math.floor(Date.now() / 1000);

  add(n = 1): void {
    this.advance();
    this.buckets[this.second % 10]! += n;
  }
  perSecond(): number {
    this.advance();
    return this.buckets.reduce((sum, n) => sum + n, 0) / 10;
  }
  private advance(): void {
    const now = Math.floor(Date.now() / 1000);
    for (let s = this.second + 1; s <= now && s <= this.second + 10; s++) this.buckets[s % 10] = 0;
    this.second = Math.max(this.second, now);
  }
}
