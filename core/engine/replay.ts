import { SluiceError } from '../errors.ts';
import type { StoredReplay } from '../store/store.ts';
import type { EngineContext } from './context.ts';
import type { Flush } from './group-commit.ts';
import { assertQueueName, parseQueueConfig, type QueueConfig, type QueueRuntime } from './queue.ts';
import { replaySpecSchema, type ReplaySpec } from '../schema/replay-spec.ts';

export { replaySpecSchema, type ReplaySpec } from '../schema/replay-spec.ts';
import { firstIdAtOrAfterTime } from './retention.ts';
import { assertTopicFilter } from '../schema/topic.ts';

/** Lifecycle of a replay job. */
export type ReplayState = 'running' | 'completed' | 'cancelled' | 'failed';

/** A replay's progress, for APIs and the UI's progress bar. */
export interface ReplayStatus {
  readonly id: string;
  readonly spec: ReplaySpec;
  readonly state: ReplayState;
  /** First and last log ids in range. */
  readonly startId: string;
  readonly endId: string;
  /** Log messages looked at so far, of `inRange`. */
  readonly scanned: number;
  /** Copies put into the target queue, of `total`. */
  readonly replayed: number;
  /** Log messages in range that match the topic filter: what the replay copies (all in range without a filter). */
  readonly total: number;
  /** Log messages in range, filter or not. */
  readonly inRange: number;
  /** True while the target queue is full and the replay waits for room. */
  readonly waiting: boolean;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly error: string | null;
}

/** Messages copied per commit: large enough for throughput, small enough for live traffic to interleave. */
const replayChunk = 5000;
/** Log ids looked at per commit when a topic filter matches rarely (bounds one commit's scan). */
const replayScanWindow = 50_000;
/** How long a replay waits for room in a full target queue before looking again. */
const fullQueuePauseMs = 50;

interface Job {
  row: StoredReplay;
  spec: ReplaySpec;
  startId: number;
  waiting: boolean;
  cancelRequested: boolean;
  loop?: Promise<void>;
}

/**
 * Replay (DESIGN.md): reads the log in order and enqueues marked copies into a target queue.
 * Progress is committed with each chunk, so a replay resumes exactly where it stopped after a
 * restart and never enqueues a message twice.
 */
export class ReplayManager {
  private readonly jobs = new Map<number, Job>();
  private stopping = false;

  constructor(
    private readonly ctx: EngineContext & {
      ensureQueueIn(flush: Flush, name: string, config: QueueConfig): QueueRuntime;
    },
  ) {}

  /**
   * validate → resolveRange → countRange → (create the target and) record the job → launch.
   * Everything that can refuse is checked before anything is written, and the target queue is
   * created in the same commit as the job: a refused replay leaves nothing behind (no orphan
   * queue collecting live messages through `create.subscriptions`).
   */
  async start(input: unknown): Promise<ReplayStatus> {
    const parsed = replaySpecSchema.safeParse(input);
    if (!parsed.success)
      throw new SluiceError(
        'invalid-input',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const spec = parsed.data;
    if (spec.topicFilter !== undefined) assertTopicFilter(spec.topicFilter);
    assertQueueName(spec.target.queue);
    const createConfig = spec.target.create ? parseQueueConfig(spec.target.create) : undefined;
    // The start point is the request's own fact: report it before the target's existence.
    const startId = this.resolveStart(spec);
    const endId = this.resolveEnd(spec);
    if (!createConfig) this.requireTarget(spec);
    const inRange = endId >= startId ? this.ctx.store.countLog(startId, endId) : 0;
    const total =
      spec.topicFilter === undefined || inRange === 0
        ? inRange
        : await this.countMatching(startId, endId, spec.topicFilter);
    const createdAt = Date.now();
    const draft = {
      specJson: JSON.stringify(spec),
      state: 'running',
      startId,
      cursor: startId - 1,
      endId,
      scanned: 0,
      replayed: 0,
      total,
      inRange,
      createdAt,
      finishedAt: null,
      error: null,
    };
    const id = await this.ctx.commit.submit((flush) => {
      // Checked again inside the commit: the queue may have gone (or come) since.
      if (createConfig) this.ctx.ensureQueueIn(flush, spec.target.queue, createConfig);
      else this.requireTarget(spec);
      return this.ctx.store.insertReplay(flush.tx, draft);
    });
    const job: Job = { row: { id, ...draft }, spec, startId, waiting: false, cancelRequested: false };
    this.jobs.set(id, job);
    this.launch(job);
    return this.status(job);
  }

  /**
   * Messages in range whose topic matches `filter`, counted one scan window at a time with a
   * turn of the event loop between windows: a filter is matched in JavaScript per row, so one
   * count over a long log would stall every connection while it ran.
   */
  private async countMatching(startId: number, endId: number, filter: string): Promise<number> {
    let matching = 0;
    for (let from = startId; from <= endId; from += replayScanWindow) {
      if (from > startId) await new Promise((resolve) => setImmediate(resolve));
      matching += this.ctx.store.countLog(from, Math.min(endId, from + replayScanWindow - 1), filter);
    }
    return matching;
  }

  private requireTarget(spec: ReplaySpec): void {
    if (!this.ctx.queueByName(spec.target.queue))
      throw new SluiceError('queue-not-found', `Replay target queue "${spec.target.queue}" does not exist`, {
        queue: spec.target.queue,
      });
  }

  /** Restarts the replays that were running when the broker stopped. */
  async resume(): Promise<void> {
    for (const row of this.ctx.store.listReplays()) {
      const spec = replaySpecSchema.parse(JSON.parse(row.specJson));
      const job: Job = { row, spec, startId: row.startId, waiting: false, cancelRequested: false };
      this.jobs.set(row.id, job);
      if (row.state === 'running') this.launch(job);
    }
  }

  get(id: string): ReplayStatus {
    return this.status(this.require(id));
  }

  list(): ReplayStatus[] {
    return [...this.jobs.values()].map((job) => this.status(job)).reverse();
  }

  /** Stops a running replay; what it already enqueued stays. */
  async cancel(id: string): Promise<ReplayStatus> {
    const job = this.require(id);
    if (job.row.state === 'running') {
      job.cancelRequested = true;
      await job.loop;
    }
    return this.status(job);
  }

  /** Waits for a replay to finish (tests, CLI --wait). */
  async finished(id: string): Promise<ReplayStatus> {
    const job = this.require(id);
    await job.loop;
    return this.status(job);
  }

  /** Halts every loop without changing stored state: running replays resume on the next open. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.jobs.values()].map((job) => job.loop));
  }

  private require(id: string): Job {
    const job = this.jobs.get(Number(id));
    if (!job) throw new SluiceError('replay-not-found', `Replay ${id} does not exist`);
    return job;
  }

  private resolveStart(spec: ReplaySpec): number {
    const { log } = this.ctx;
    const horizon = this.horizon();
    switch (spec.start.kind) {
      case 'beginning':
        return log.startId;
      case 'message-id': {
        const id = Number(spec.start.id);
        if (id < log.startId)
          throw new SluiceError(
            'replay-before-retention',
            `Message ${id} is no longer in the log; the log now starts at message ${log.startId}${horizon}`,
            { logStartId: String(log.startId) },
          );
        const { lastId } = this.ctx.store.logBounds();
        if (id > lastId)
          throw new SluiceError(
            'message-not-found',
            lastId === 0
              ? `Message ${id} is not in the log (the log is empty)`
              : `Message ${id} is not in the log (the newest is ${lastId})`,
          );
        return id;
      }
      case 'timestamp':
        if (log.prunedThroughTs !== null && spec.start.at <= log.prunedThroughTs)
          throw new SluiceError(
            'replay-before-retention',
            `${new Date(spec.start.at).toISOString()} is before the retained log; the log now starts at message ${log.startId}${horizon}`,
            { logStartId: String(log.startId) },
          );
        return firstIdAtOrAfterTime(this.ctx, spec.start.at);
    }
  }

  private resolveEnd(spec: ReplaySpec): number {
    const { lastId } = this.ctx.store.logBounds();
    if (!spec.end) return lastId;
    if (spec.end.kind === 'message-id') return Math.min(Number(spec.end.id), lastId);
    return firstIdAtOrAfterTime(this.ctx, spec.end.at + 1) - 1;
  }

  private horizon(): string {
    const first = this.ctx.store.firstAtOrAfter(this.ctx.log.startId);
    return first ? ` (${new Date(first.timestamp).toISOString()})` : ' (the log is empty)';
  }

  private launch(job: Job): void {
    job.loop = this.run(job).catch((error: unknown) => {
      this.ctx.logger.error({ err: error, replay: job.row.id }, 'replay failed');
    });
  }

  private async run(job: Job): Promise<void> {
    const filter = job.spec.topicFilter;
    while (job.row.state === 'running' && !this.stopping) {
      const queue = this.ctx.queueByName(job.spec.target.queue);
      const cancel = job.cancelRequested;
      if (!cancel && queue && queue.wouldOverflow(0)) {
        job.waiting = true; // backpressure: a full target queue pauses the replay
        await new Promise((resolve) => setTimeout(resolve, fullQueuePauseMs));
        continue;
      }
      job.waiting = false;
      const next = await this.ctx.commit.submit((flush) => {
        const row = { ...job.row };
        if (cancel || !queue) {
          Object.assign(row, {
            state: cancel ? 'cancelled' : 'failed',
            finishedAt: flush.now,
            error: cancel ? null : `target queue "${job.spec.target.queue}" no longer exists`,
          });
        } else {
          const from = Math.max(row.cursor + 1, this.ctx.log.startId);
          const to = Math.min(row.endId, from + replayScanWindow - 1);
          // One INSERT…SELECT per chunk: no payload is decoded (bench/core.ts: ~10× the per-row path).
          const result = this.ctx.copyLog(flush, queue, {
            fromId: from,
            toId: to,
            limit: replayChunk,
            filter: filter ?? null,
            replayId: row.id,
          });
          row.cursor = Math.max(row.cursor, result.lastId);
          row.scanned += result.scanned;
          row.replayed += result.copied;
          if (from > row.endId || row.cursor >= row.endId)
            Object.assign(row, { state: 'completed', finishedAt: flush.now });
        }
        this.ctx.store.updateReplay(flush.tx, row);
        return row;
      });
      job.row = next;
    }
  }

  private status(job: Job): ReplayStatus {
    const { row } = job;
    return {
      id: String(row.id),
      spec: job.spec,
      state: row.state as ReplayState,
      startId: String(job.startId),
      endId: String(row.endId),
      scanned: row.scanned,
      replayed: row.replayed,
      total: row.total,
      inRange: row.inRange,
      waiting: job.waiting,
      createdAt: row.createdAt,
      finishedAt: row.finishedAt,
      error: row.error,
    };
  }
}
