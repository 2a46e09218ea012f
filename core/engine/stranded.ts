/**
 * In-flight entries left by the process before a restart. DESIGN.md: on restart they become
 * ready again with their delivery count kept — one UPDATE when the store opens.
 *
 * On a full disk that write fails (the WAL cannot grow). Refusing to start would leave the
 * engineer without the UI and API that say why, and without the consumers that drain the
 * backlog, so the broker starts anyway: publishes are refused (store-full) as they are while
 * running, consumers get what can be committed (handing out a delivery is a write too, so on a
 * truly full filesystem nothing until space returns), and the stranded ones wait — counted in
 * their queue's depth, never delivered — until the reset commits. It is retried every second; once it commits,
 * their queues re-read their ready entries from the store and dispatch picks them up in order
 * (their journeys then lack the "returned" step the normal reset records).
 */
import { SluiceError } from '../errors.ts';
import type { Tx } from '../store/store.ts';
import type { EngineContext } from './context.ts';

const retryEveryMs = 1000;

export class StrandedEntries {
  private entries: ReadonlyArray<{ queueId: number; id: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private trying = false;

  constructor(private readonly ctx: EngineContext) {}

  /**
   * At open: resets every in-flight entry (`first` runs in the same transaction, before the reset);
   * on a full disk, remembers them and retries. Answers how many were reset now.
   */
  recover(first: (tx: Tx) => void): number {
    const { store } = this.ctx;
    try {
      return store.transaction((tx) => {
        first(tx);
        return store.resetInFlight(tx);
      });
    } catch (error) {
      if (!(error instanceof SluiceError) || error.code !== 'store-full') throw error;
      this.entries = store.inFlightEntries();
      this.ctx.logger.warn(
        { entries: this.entries.length },
        'disk full at start: in-flight entries from before the restart stay held until space returns',
      );
      this.timer = setInterval(() => void this.retry(), retryEveryMs);
      this.timer.unref();
      return 0;
    }
  }

  /** Entries still waiting for space to become ready again. */
  get waiting(): number {
    return this.entries.length;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async retry(): Promise<void> {
    if (this.trying || this.entries.length === 0) return;
    this.trying = true;
    const entries = this.entries;
    try {
      const reset = await this.ctx.commit.submit((flush) => {
        const changed = this.ctx.store.resetEntries(flush.tx, entries);
        flush.after(() => {
          for (const queueId of new Set(entries.map((entry) => entry.queueId))) {
            const queue = this.ctx.queueById(queueId);
            if (!queue) continue;
            queue.reload(this.ctx.store.queueTotalsOf(queue.id));
            this.ctx.wake(queue);
          }
        });
        return changed;
      });
      this.entries = [];
      this.stop();
      this.ctx.logger.info(
        { entries: reset },
        'space returned: in-flight entries from before the restart are ready again',
      );
    } catch (error) {
      if (!(error instanceof SluiceError) || error.code !== 'store-full')
        this.ctx.logger.warn({ err: error }, 'resetting in-flight entries from before the restart failed; will retry');
    } finally {
      this.trying = false;
    }
  }
}
