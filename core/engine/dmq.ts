import { SluiceError, type ErrorCode } from '../errors.ts';
import type { StoredDeadMessage, StoredMessage } from '../store/store.ts';
import type { DeadReason } from './entry-state.ts';
import type { EngineContext } from './context.ts';
import type { Flush } from './group-commit.ts';
import { toMessage, type Message } from './message.ts';
import type { QueueRuntime } from './queue.ts';
import { topicMatches } from '../schema/topic.ts';

/** A dead message as APIs show it: the original message plus why, where from, how often, when. */
export interface DeadMessage {
  readonly id: string;
  readonly dmq: string;
  /** The queue it died in, where redelivery sends it back. */
  readonly queue: string;
  readonly reason: DeadReason;
  /** Deliveries in the queue life that ended here (max redelivery counts these). */
  readonly deliveryCount: number;
  /** Deliveries across DMQ round trips: earlier lives plus the last one. */
  readonly totalDeliveryCount: number;
  readonly firstDeliveredAt: number | null;
  readonly lastDeliveredAt: number | null;
  readonly deadAt: number;
  readonly consumer: string | null;
  /** The consumer's rejection text, when it gave one. */
  readonly error: string | null;
  /** The original message, unchanged. */
  readonly message: Message;
}

/** Selects dead messages; every field optional and ANDed. */
export interface DeadMessageFilter {
  readonly dmq?: string;
  readonly queue?: string;
  readonly reason?: DeadReason;
  /** MQTT topic filter on the original topic. */
  readonly topic?: string;
  readonly deadFrom?: number;
  readonly deadUntil?: number;
}

/** Which dead messages an operation applies to. */
export type DeadMessageSelection = { readonly ids: readonly string[] } | { readonly filter: DeadMessageFilter };

/** The outcome of redelivering a selection. */
export interface RedeliverResult {
  readonly redelivered: number;
  readonly failed: ReadonlyArray<{ readonly id: string; readonly code: ErrorCode; readonly detail: string }>;
}

/** What a dying entry carries into the DMQ. */
export interface DyingEntry {
  /** Its entry id in the queue; absent when it died on the way in (overflow dead-letter). */
  readonly id?: number;
  readonly message: StoredMessage;
  readonly deliveryCount: number;
  readonly priorDeliveries: number;
  readonly firstDeliveredAt: number | null;
  readonly lastDeliveredAt: number | null;
  readonly expiresAt: number | null;
}

/** Writes one dead message: a full copy of the original plus the facts of its death. */
export function deadLetter(
  ctx: EngineContext,
  flush: Flush,
  queue: QueueRuntime,
  entry: DyingEntry,
  reason: DeadReason,
  details: { consumer?: string; error?: string },
): void {
  const deadId = ctx.store.insertDead(flush.tx, {
    dmq: queue.config.deadMessageQueue,
    message: entry.message,
    queue: queue.name,
    reason,
    deliveryCount: entry.deliveryCount,
    priorDeliveries: entry.priorDeliveries,
    firstDeliveredAt: entry.firstDeliveredAt,
    lastDeliveredAt: entry.lastDeliveredAt,
    deadAt: flush.now,
    consumer: details.consumer ?? null,
    error: details.error ?? null,
  });
  queue.counters.deadLettered++;
  ctx.changed(queue);
  // The consumer that caused it is the one the step before names (a rejection or failure).
  ctx.journey.record(flush, 'dead-lettered', entry.message.id, queue, entry.id ?? null, null, {
    reason,
    dmq: queue.config.deadMessageQueue,
    deadId,
  });
}

/** Rows handled per commit by bulk operations, so live traffic interleaves with them. */
const chunkSize = 500;

/** DMQ operations: list, browse, inspect, redeliver, purge, export. */
export class DeadMessages {
  constructor(private readonly ctx: EngineContext) {}

  /** A page of dead messages in death order; pass the last id as `afterId` for the next page. */
  list(filter: DeadMessageFilter = {}, page: { afterId?: string; limit?: number } = {}): DeadMessage[] {
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    const found: DeadMessage[] = [];
    let afterId = page.afterId === undefined ? 0 : parseId(page.afterId);
    // The topic filter is applied here (wildcards); SQL narrows by the indexed fields.
    for (;;) {
      const rows = this.ctx.store.queryDead({ ...sqlFilter(filter), afterId, limit });
      for (const row of rows) if (matchesTopic(filter, row) && found.length < limit) found.push(toDeadMessage(row));
      if (rows.length < limit || found.length >= limit) return found;
      afterId = rows[rows.length - 1]!.id;
    }
  }

  get(id: string): DeadMessage {
    const row = this.ctx.store.getDead(parseId(id));
    if (!row) throw new SluiceError('dead-message-not-found', `Dead message ${id} does not exist`);
    return toDeadMessage(row);
  }

  /** Counts per DMQ and original queue. */
  counts(): Array<{ dmq: string; queue: string; count: number }> {
    return this.ctx.store.deadCounts();
  }

  /** Counts per DMQ, original queue and reason. */
  countsByReason(): Array<{ dmq: string; queue: string; reason: DeadReason; count: number }> {
    return this.ctx.store.deadCountsByReason() as Array<{
      dmq: string;
      queue: string;
      reason: DeadReason;
      count: number;
    }>;
  }

  /**
   * Sends dead messages back to their original queue as fresh entries, keeping their original
   * message id. The entry's delivery count restarts at 0 (max redelivery applies afresh); the
   * deliveries of its earlier lives go with it, so the total across round trips stays visible.
   * Runs in chunks, one commit each.
   */
  async redeliver(selection: DeadMessageSelection): Promise<RedeliverResult> {
    type Failure = { id: string; code: ErrorCode; detail: string };
    const chunks = await this.forEachChunk(selection, (flush, rows, missing) => {
      let redelivered = 0;
      const failed: Failure[] = missing.map((id) => ({
        id,
        code: 'dead-message-not-found' as const,
        detail: `Dead message ${id} does not exist`,
      }));
      for (const row of rows) {
        const queue = this.ctx.queueByName(row.queue);
        if (!queue) {
          failed.push({ id: String(row.id), code: 'queue-not-found', detail: `Queue "${row.queue}" no longer exists` });
          continue;
        }
        if (queue.wouldOverflow(row.message.size)) {
          failed.push({ id: String(row.id), code: 'queue-full', detail: `Queue "${row.queue}" is full` });
          continue;
        }
        this.ctx.store.restoreMessage(flush.tx, row.message);
        this.ctx.store.deleteDead(flush.tx, row.id);
        const entryId = this.ctx.enqueue(flush, queue, row.message, {
          replayed: false,
          priorDeliveries: row.priorDeliveries + row.deliveryCount,
        });
        this.ctx.journey.record(flush, 'redelivered', row.message.id, queue, entryId, null, {
          dmq: row.dmq,
          deadId: row.id,
        });
        redelivered++;
      }
      return { redelivered, failed };
    });
    return {
      redelivered: chunks.reduce((sum, c) => sum + c.redelivered, 0),
      failed: chunks.flatMap((c) => c.failed),
    };
  }

  /** Deletes dead messages for good; returns how many. */
  async purge(selection: DeadMessageSelection): Promise<number> {
    const chunks = await this.forEachChunk(selection, (flush, rows) => {
      let purged = 0;
      for (const row of rows) {
        if (!this.ctx.store.deleteDead(flush.tx, row.id)) continue;
        purged++;
        const queue = this.ctx.queueByName(row.queue) ?? null;
        this.ctx.journey.record(flush, 'dead-purged', row.message.id, queue, null, null, {
          dmq: row.dmq,
          deadId: row.id,
          ...(queue === null && { queue: row.queue }),
        });
        // Its journey goes once neither the log nor another dead copy holds the message.
        this.ctx.journey.forget(row.message.id);
      }
      return purged;
    });
    return chunks.reduce((sum, n) => sum + n, 0);
  }

  /** NDJSON lines, one dead message each, payload in base64. */
  *exportNdjson(filter: DeadMessageFilter = {}): Generator<string> {
    let afterId: string | undefined;
    for (;;) {
      const page = this.list(filter, { limit: chunkSize, ...(afterId !== undefined && { afterId }) });
      for (const dead of page) yield `${JSON.stringify(toExportRecord(dead))}\n`;
      if (page.length < chunkSize) return;
      afterId = page[page.length - 1]!.id;
    }
  }

  /**
   * Runs `work` over the selection, one commit per chunk. `work` returns its results rather
   * than accumulating them outside, so a commit retried after a rollback counts once.
   */
  private async forEachChunk<T>(
    selection: DeadMessageSelection,
    work: (flush: Flush, rows: StoredDeadMessage[], missing: string[]) => T,
  ): Promise<T[]> {
    const results: T[] = [];
    if ('ids' in selection) {
      const ids = selection.ids.map(parseId);
      for (let i = 0; i < ids.length; i += chunkSize) {
        const slice = ids.slice(i, i + chunkSize);
        const result = await this.ctx.commit.submit((flush) => {
          const rows: StoredDeadMessage[] = [];
          const missing: string[] = [];
          for (const id of slice) {
            const row = this.ctx.store.getDead(id);
            if (row) rows.push(row);
            else missing.push(String(id));
          }
          return work(flush, rows, missing);
        });
        results.push(result);
      }
      return results;
    }
    const { filter } = selection;
    let afterId = 0;
    for (;;) {
      const { result, lastId, done } = await this.ctx.commit.submit((flush) => {
        const rows = this.ctx.store.queryDead({ ...sqlFilter(filter), afterId, limit: chunkSize });
        return {
          result: work(
            flush,
            rows.filter((row) => matchesTopic(filter, row)),
            [],
          ),
          lastId: rows.length > 0 ? rows[rows.length - 1]!.id : afterId,
          done: rows.length < chunkSize,
        };
      });
      results.push(result);
      afterId = lastId;
      if (done) return results;
    }
  }
}

function sqlFilter(filter: DeadMessageFilter) {
  return {
    ...(filter.dmq !== undefined && { dmq: filter.dmq }),
    ...(filter.queue !== undefined && { queue: filter.queue }),
    ...(filter.reason !== undefined && { reason: filter.reason }),
    ...(filter.deadFrom !== undefined && { deadFrom: filter.deadFrom }),
    ...(filter.deadUntil !== undefined && { deadUntil: filter.deadUntil }),
  };
}

function matchesTopic(filter: DeadMessageFilter, row: StoredDeadMessage): boolean {
  return filter.topic === undefined || topicMatches(filter.topic, row.message.topic);
}

function parseId(id: string): number {
  const n = Number(id);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SluiceError('invalid-input', `"${id}" is not a message id`);
  return n;
}

function toDeadMessage(row: StoredDeadMessage): DeadMessage {
  return {
    id: String(row.id),
    dmq: row.dmq,
    queue: row.queue,
    reason: row.reason as DeadReason,
    deliveryCount: row.deliveryCount,
    totalDeliveryCount: row.priorDeliveries + row.deliveryCount,
    firstDeliveredAt: row.firstDeliveredAt,
    lastDeliveredAt: row.lastDeliveredAt,
    deadAt: row.deadAt,
    consumer: row.consumer,
    error: row.error,
    message: toMessage(row.message),
  };
}

function toExportRecord(dead: DeadMessage) {
  const { message, ...facts } = dead;
  return { ...facts, message: { ...message, payload: message.payload.toString('base64'), payloadEncoding: 'base64' } };
}
