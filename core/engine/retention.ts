import type { EngineContext } from './context.ts';

/** How long and how much of the log is kept for replay. */
export interface RetentionLimits {
  /** Messages older than this leave the replayable log; null keeps them by age forever. */
  readonly maxAgeMs: number | null;
  /** The replayable log is trimmed, oldest first, to stay within this many bytes. */
  readonly maxLogBytes: number;
  /** How often retention runs. */
  readonly intervalMs: number;
}

/** Messages deleted per commit, so live traffic keeps flowing during a large prune. */
const pruneBatch = 2000;

/**
 * Retention: advances the log's start by age and size, then deletes pruned messages that no
 * queue entry still holds. A message a queue still holds stays until acked (then it goes).
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly limits: RetentionLimits,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.run(), this.limits.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One retention pass: returns the new log start and how many messages were deleted. */
  async run(now = Date.now()): Promise<{ startId: number; deleted: number }> {
    if (this.running) return { startId: this.ctx.log.startId, deleted: 0 };
    this.running = true;
    try {
      const { log, store } = this.ctx;
      const previousStart = log.startId;
      const { startId: newStart, droppedBytes: dropped } = this.newStart(now);
      if (newStart > previousStart) {
        const lastPruned = store.lastBefore(newStart);
        await this.ctx.commit.submit((flush) => {
          store.setMeta(flush.tx, 'log_start_id', String(newStart));
          if (lastPruned) store.setMeta(flush.tx, 'pruned_through_ts', String(lastPruned.timestamp));
          log.startId = newStart;
          log.bytes -= dropped;
          if (lastPruned) log.prunedThroughTs = lastPruned.timestamp;
          flush.undo(() => {
            log.startId = previousStart;
            log.bytes += dropped;
          });
        });
      }
      let deleted = 0;
      let cursor = Number(store.getMeta('prune_cursor') ?? '0');
      while (cursor < log.startId - 1) {
        const from = cursor;
        const result = await this.ctx.commit.submit((flush) => {
          const r = store.pruneLog(flush.tx, log.startId, from, pruneBatch);
          store.setMeta(flush.tx, 'prune_cursor', String(r.lastId));
          // A pruned message's journey goes with it (docs/journey.md), unless a dead copy keeps it.
          this.ctx.journey.forgetRange(from, r.lastId);
          return r;
        });
        deleted += result.deleted;
        if (result.lastId === cursor) break;
        cursor = result.lastId;
      }
      return { startId: log.startId, deleted };
    } catch (error) {
      this.ctx.logger.warn({ err: error }, 'retention pass failed; will retry');
      return { startId: this.ctx.log.startId, deleted: 0 };
    } finally {
      this.running = false;
    }
  }

  /** The first id to keep (past everything older than max age, and within max bytes) and the bytes dropped. */
  private newStart(now: number): { startId: number; droppedBytes: number } {
    const { log, store } = this.ctx;
    let start = log.startId;
    if (this.limits.maxAgeMs !== null)
      start = Math.max(start, firstIdAtOrAfterTime(this.ctx, now - this.limits.maxAgeMs));
    let dropped = start > log.startId ? store.sumLogBytesBetween(log.startId, start) : 0;
    let excess = log.bytes - dropped - this.limits.maxLogBytes;
    while (excess > 0) {
      const rows = store.logSizesFrom(start, pruneBatch);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (excess <= 0) break;
        excess -= row.size;
        dropped += row.size;
        start = row.id + 1;
      }
    }
    return { startId: start, droppedBytes: dropped };
  }
}

/**
 * The first log id whose timestamp is >= `ts` (or one past the end). Timestamps never
 * decrease along the log, so a binary search over ids replaces an index on ts.
 */
export function firstIdAtOrAfterTime(ctx: Pick<EngineContext, 'store' | 'log'>, ts: number): number {
  const { store } = ctx;
  const { lastId } = store.logBounds();
  let lo = ctx.log.startId;
  let hi = lastId + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const at = store.firstAtOrAfter(mid);
    if (!at || at.timestamp >= ts) hi = mid;
    else lo = at.id + 1;
  }
  return store.firstAtOrAfter(lo)?.id ?? lastId + 1;
}
