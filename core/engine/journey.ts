/**
 * The message journey (docs/journey.md): every step a message takes after it is published,
 * recorded in the commit that makes the step happen. Steps are buffered during a group commit
 * and written at its end in a few multi-row INSERTs (JourneyStore.insert): no extra fsync, no
 * extra transaction, and no statement per message. A rolled-back commit drops its buffer.
 */
import type { Logger } from 'pino';
import { SluiceError } from '../errors.ts';
import { JourneyStore, type JourneyRow } from '../store/journey-store.ts';
import type { SqliteStore } from '../store/sqlite-store.ts';
import type { MessageProps, Tx } from '../store/store.ts';
import type { JourneyStepKind } from '../schema/journey.ts';
import type { Flush } from './group-commit.ts';
import type { QueueRuntime } from './queue.ts';

/** Stored step codes. Append only: a code's meaning never changes once written to disk. */
export const stepCode = {
  delivered: 1,
  acked: 2,
  released: 3,
  failed: 4,
  rejected: 5,
  expired: 6,
  evicted: 7,
  'dead-lettered': 8,
  discarded: 9,
  redelivered: 10,
  replayed: 11,
  purged: 12,
  'queue-deleted': 13,
  returned: 14,
  'dead-purged': 15,
} as const satisfies Partial<Record<JourneyStepKind, number>>;

/** A stored step's kind. */
export type StoredStepKind = keyof typeof stepCode;

const kindOfCode = new Map<number, StoredStepKind>(
  (Object.entries(stepCode) as Array<[StoredStepKind, number]>).map(([kind, code]) => [code, kind]),
);

/** The facts a step may carry besides its queue, entry and consumer (stored as JSON). */
export interface StepDetail {
  readonly error?: string;
  readonly reason?: string;
  readonly dmq?: string;
  readonly deadId?: number;
  readonly replayId?: number;
  /** A deleted queue's name (its id no longer resolves). */
  readonly queue?: string;
}

/** One step of a message's journey, as the API shows it. */
export interface JourneyStep {
  readonly kind: JourneyStepKind;
  /** When, ms since the epoch. */
  readonly at: number;
  readonly queue: string | null;
  /** The queue entry (delivery id) the step concerns. */
  readonly entryId: string | null;
  /** Publisher (published) or consumer label ("mqtt:plc-7", "amqp:…/orders"). */
  readonly publisher: string | null;
  readonly consumer: string | null;
  /** The door: the publisher's protocol, or the consumer's (its label's prefix). */
  readonly protocol: string | null;
  /** For deliveries: the how-many-th delivery of this entry (1 first). */
  readonly attempt: number | null;
  readonly error: string | null;
  readonly reason: string | null;
  readonly dmq: string | null;
  readonly deadMessageId: string | null;
  readonly replayId: string | null;
}

/** A message's journey: what it is, each step in order, and where it is now. */
export interface MessageJourney {
  readonly message: {
    readonly id: string;
    readonly topic: string;
    readonly timestamp: number;
    readonly size: number;
    readonly publisher: string | null;
    readonly protocol: string | null;
    /** False when only a dead copy is left (the log row was pruned by retention). */
    readonly inLog: boolean;
  };
  readonly steps: JourneyStep[];
  /** Where it is now: queue entries and dead copies. */
  readonly now: {
    readonly entries: Array<{
      readonly queue: string;
      readonly entryId: string;
      readonly state: 'ready' | 'in-flight';
      readonly deliveryCount: number;
      readonly replayed: boolean;
    }>;
    readonly dead: Array<{
      readonly id: string;
      readonly dmq: string;
      readonly queue: string;
      readonly reason: string;
    }>;
  };
  /** Whether this broker records journeys (config `journey: false` turns it off). */
  readonly recording: boolean;
}

/**
 * Buffers a commit's steps and writes them before COMMIT. `atUs` (µs since the epoch, unique and
 * increasing) orders the steps of a message even when several share a millisecond.
 */
export class JourneyRecorder {
  readonly store: JourneyStore;
  private buffer: Array<number | string | null> = [];
  /** [afterId, toId] pairs whose gone messages lose their journey at the end of the commit. */
  private forgets: number[] = [];
  private lastAtUs: number;

  constructor(
    sqlite: SqliteStore,
    /** False: nothing is recorded (config `journey: false`); what is stored is still read and pruned. */
    readonly enabled: boolean,
  ) {
    this.store = new JourneyStore(sqlite.database, (statements) => sqlite.guardLogReads(statements));
    this.lastAtUs = Date.now() * 1000;
  }

  /** The next step time: now in µs, or one past the last one if the clock has not moved on. */
  stamp(nowMs: number): number {
    this.lastAtUs = Math.max(nowMs * 1000, this.lastAtUs + 1);
    return this.lastAtUs;
  }

  /**
   * A step per row of a bulk INSERT…SELECT, stamped atUs, atUs + 1, …: `write` gets the first
   * stamp and returns how many rows it wrote.
   */
  bulk(nowMs: number, write: (atUs: number) => number): void {
    if (!this.enabled) return;
    const first = this.stamp(nowMs);
    const written = write(first);
    this.lastAtUs = Math.max(this.lastAtUs, first + written - 1);
  }

  /** Records one step of `messageId` in this commit. */
  record(
    flush: Flush,
    kind: StoredStepKind,
    messageId: number,
    queue: QueueRuntime | null,
    entryId: number | null,
    consumer: string | null = null,
    detail: StepDetail | null = null,
  ): void {
    if (!this.enabled) return;
    this.buffer.push(
      messageId,
      this.stamp(flush.now),
      stepCode[kind],
      queue === null ? null : queue.id,
      entryId,
      consumer,
      detail === null ? null : JSON.stringify(detail),
    );
  }

  /** The journey of a message deleted in this commit goes too, unless a dead copy keeps it. */
  forget(messageId: number): void {
    this.forgetRange(messageId - 1, messageId);
  }

  /** As forget, for every message with afterId < id <= toId (a retention prune batch). */
  forgetRange(afterId: number, toId: number): void {
    if (toId > afterId) this.forgets.push(afterId, toId);
  }

  /** Writes the buffered steps, then deletes the journeys of messages that are gone (in the commit's transaction). */
  write(tx: Tx): void {
    if (this.buffer.length > 0) {
      this.store.insert(tx, this.buffer);
      this.buffer = [];
    }
    for (let i = 0; i < this.forgets.length; i += 2) this.store.forget(tx, this.forgets[i]!, this.forgets[i + 1]!);
    this.forgets.length = 0;
  }

  /** The commit failed: nothing of it happened. */
  discard(): void {
    this.buffer = [];
    this.forgets.length = 0;
  }
}

/** What reading a journey needs from the engine. */
export interface JourneyReader {
  readonly store: SqliteStore;
  readonly journey: JourneyRecorder;
  readonly logger: Logger;
  queueById(id: number): QueueRuntime | undefined;
}

/**
 * A message's journey: the publish and routing from the log and the queue entries, then each
 * stored step in order. Unknown (or pruned) ids are `message-not-found`.
 */
export function readJourney(ctx: JourneyReader, id: string): MessageJourney {
  const messageId = Number(id);
  if (!Number.isSafeInteger(messageId) || messageId <= 0)
    throw new SluiceError('invalid-input', `"${id}" is not a message id`);
  const logged = ctx.store.getMessage(messageId);
  const deadCopies = ctx.journey.store.deadCopies(messageId);
  const first = deadCopies[0];
  if (!logged && !first)
    throw new SluiceError(
      'message-not-found',
      `Message ${id} is not in the log or a dead message queue (never published, or pruned by retention)`,
    );
  const props: MessageProps = logged ? logged.props : first?.props ? (JSON.parse(first.props) as MessageProps) : {};
  const timestamp = logged ? logged.timestamp : first!.ts;
  const rows = ctx.journey.store.events(messageId);
  const entries = ctx.journey.store.entries(messageId);
  const deletedNames = new Map<number, string>();
  for (const row of rows) {
    const detail = parseDetail(row);
    if (row.queueId !== null && detail?.queue !== undefined) deletedNames.set(row.queueId, detail.queue);
  }
  const queueName = (queueId: number | null) =>
    queueId === null ? null : (ctx.queueById(queueId)?.name ?? deletedNames.get(queueId) ?? `#${queueId}`);

  const steps: JourneyStep[] = [
    step('published', timestamp, {
      publisher: props.publisher ?? null,
      protocol: props.protocol ?? null,
    }),
  ];
  // Routing is not stored: an entry whose life did not start with a replay or a DMQ redelivery
  // (or a dead-letter on overflow, which is the routing's own outcome) was routed at publish.
  const lives = new Set<string>();
  const routed = new Set<string>();
  const addRouted = (queueId: number, entryId: number | null) => {
    const key = `${queueId}/${entryId ?? ''}`;
    if (routed.has(key)) return;
    routed.add(key);
    steps.push(
      step('routed', timestamp, { queue: queueName(queueId), entryId: entryId === null ? null : String(entryId) }),
    );
  };
  for (const row of rows) {
    if (row.queueId === null) continue;
    const key = `${row.queueId}/${row.entryId ?? ''}`;
    if (lives.has(key)) continue;
    lives.add(key);
    const kind = kindOfCode.get(row.kind);
    if (kind === 'dead-purged') continue;
    if (kind !== 'replayed' && kind !== 'redelivered') addRouted(row.queueId, row.entryId);
  }
  for (const entry of entries) {
    const key = `${entry.queueId}/${entry.entryId}`;
    if (!lives.has(key) && !entry.replayed) addRouted(entry.queueId, entry.entryId);
  }

  const attempts = new Map<string, number>();
  // Outcomes store no consumer: they name the consumer of the entry's last delivery.
  const lastConsumer = new Map<string, string | null>();
  const lastKind = new Map<string, StoredStepKind>();
  for (const row of rows) {
    const kind = kindOfCode.get(row.kind);
    if (kind === undefined) {
      ctx.logger.warn({ messageId, code: row.kind }, 'journey step with an unknown code; skipped');
      continue;
    }
    const detail = parseDetail(row);
    const key = `${row.queueId}/${row.entryId}`;
    let attempt: number | null = null;
    let consumer = row.consumer;
    if (kind === 'delivered') {
      attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      lastConsumer.set(key, row.consumer);
    } else if (consumer === null && settlements.has(kind)) consumer = lastConsumer.get(key) ?? null;
    else if (consumer === null && kind === 'dead-lettered' && causes.has(lastKind.get(key)))
      consumer = lastConsumer.get(key) ?? null;
    lastKind.set(key, kind);
    steps.push(
      step(kind, Math.floor(row.atUs / 1000), {
        queue: queueName(row.queueId) ?? detail?.queue ?? null,
        entryId: row.entryId === null ? null : String(row.entryId),
        consumer,
        protocol: consumer === null ? null : protocolOf(consumer),
        attempt,
        error: detail?.error ?? null,
        reason: detail?.reason ?? null,
        dmq: detail?.dmq ?? null,
        deadMessageId: detail?.deadId === undefined ? null : String(detail.deadId),
        replayId: detail?.replayId === undefined ? null : String(detail.replayId),
      }),
    );
  }

  return {
    message: {
      id: String(messageId),
      topic: logged ? logged.topic : first!.topic,
      timestamp,
      size: logged ? logged.size : first!.size,
      publisher: props.publisher ?? null,
      protocol: props.protocol ?? null,
      inLog: logged !== undefined,
    },
    steps,
    now: {
      entries: entries.map((e) => ({
        queue: queueName(e.queueId)!,
        entryId: String(e.entryId),
        state: e.inFlight ? 'in-flight' : 'ready',
        deliveryCount: e.deliveryCount,
        replayed: e.replayed,
      })),
      dead: deadCopies.map((d) => ({ id: String(d.id), dmq: d.dmq, queue: d.queue, reason: d.reason })),
    },
    recording: ctx.journey.enabled,
  };
}

const settlements = new Set<StoredStepKind>(['acked', 'released', 'failed', 'rejected']);
const causes = new Set<StoredStepKind | undefined>(['failed', 'rejected']);

/** A consumer label's door: "mqtt:plc-7" → mqtt. */
function protocolOf(label: string): string | null {
  const at = label.indexOf(':');
  return at > 0 ? label.slice(0, at) : null;
}

function parseDetail(row: JourneyRow): StepDetail | null {
  if (row.detail === null) return null;
  try {
    return JSON.parse(row.detail) as StepDetail;
  } catch {
    return null;
  }
}

function step(kind: JourneyStepKind, at: number, facts: Partial<Omit<JourneyStep, 'kind' | 'at'>>): JourneyStep {
  return {
    kind,
    at,
    queue: null,
    entryId: null,
    publisher: null,
    consumer: null,
    protocol: null,
    attempt: null,
    error: null,
    reason: null,
    dmq: null,
    deadMessageId: null,
    replayId: null,
    ...facts,
  };
}
