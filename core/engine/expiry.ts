import type { EngineContext } from './context.ts';
import { toReadyEntry } from './queue.ts';

/** Expired entries handled per commit. */
const sweepBatch = 500;

/**
 * TTL expiry: ready entries whose time ran out go to their DMQ with reason ttl-expired
 * (or are discarded when not DMQ-eligible). Dispatch also checks expiry before delivering,
 * so a consumer never sees an expired message even between sweeps.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: EngineContext,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Moves every expired ready entry out; resolves with how many. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let total = 0;
    try {
      for (;;) {
        const handled = await this.ctx.commit.submit((flush) => {
          const rows = this.ctx.store.expiredReady(flush.now, sweepBatch);
          for (const row of rows) {
            const queue = this.ctx.queueById(row.queueId);
            if (!queue || queue.inFlight.has(row.id)) continue;
            queue.dropBuffered(row.id);
            this.ctx.removeEntry(flush, queue, toReadyEntry(row), { type: 'expire' }, {});
          }
          return rows.length;
        });
        total += handled;
        if (handled < sweepBatch) return total;
      }
    } catch (error) {
      this.ctx.logger.warn({ err: error }, 'expiry sweep failed; will retry');
      return total;
    } finally {
      this.running = false;
    }
  }
}
