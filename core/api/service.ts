/**
 * The API service: implements every contract operation against the engine. The handler tables
 * are mapped types over the contract, so a missing operation fails to compile (STYLE.md §9);
 * every input is parsed with the contract's schema here, once, whatever transport it came by.
 */
import { toSluiceError } from '../errors.ts';
import type { DeadMessageSelection } from '../engine/dmq.ts';
import type { Engine, QueueInfo } from '../engine/engine.ts';
import {
  parseInput,
  type BrokerEvent,
  type EventOperationName,
  type OperationName,
  type OperationOutput,
  type ParsedInput,
  type StreamOperationName,
  type UnaryOperationName,
  type WireStats,
} from './contract.ts';
import { RateSampler, type CounterSnapshot } from './rates.ts';
import { PullReceivers, type PullSettlement } from './receivers.ts';
import { TopicTree, defaultTopicTreeLimits, type TopicTreeLimits } from './topic-tree.ts';
import { decodePayload, toMessageEvent, toWireDeadMessage, toWireMessage, toWireQueue } from './wire.ts';

/** How the service is set up. */
export interface ServiceOptions {
  /** Reported by `health`. */
  readonly version?: string;
  /** How often rates are sampled and stats events sent (default 1 s). */
  readonly rateIntervalMs?: number;
  /** Topic tree bounds (default 100 000 topics, 256-byte previews). */
  readonly topicTree?: Partial<TopicTreeLimits>;
}

/** Receives one live event; called synchronously after the commit that made it visible. */
export type EventSink<N extends EventOperationName = EventOperationName> = (event: OperationOutput<N>) => void;

/** The API implementation every transport (HTTP, IPC, CLI through HTTP) calls. */
export interface Service {
  /** Validates `input` and runs a one-answer operation; failures are SluiceErrors. */
  call<N extends UnaryOperationName>(name: N, input: unknown): Promise<OperationOutput<N>>;
  /** Validates `input` and returns a streamed operation's NDJSON lines (each ends in `\n`). */
  stream<N extends StreamOperationName>(name: N, input: unknown): Iterable<string>;
  /**
   * Validates `input` and starts a live subscription; returns the function that ends it.
   * Events arrive synchronously from the engine: a transport that cannot keep up must buffer
   * boundedly and drop (see the HTTP SSE writer), never block or grow without limit.
   */
  subscribe<N extends EventOperationName>(name: N, input: unknown, onEvent: EventSink<N>): () => void;
  /** Every operation it implements (the contract's, checked by the compiler and by a test). */
  readonly operations: ReadonlySet<OperationName>;
  /** True once close() ran: health says `closing`, readiness fails. */
  readonly closing: boolean;
  /** Stops the rate sampler; the engine is closed by its owner. */
  close(): void;
}

type MaybePromise<T> = T | Promise<T>;
/** One handler per one-answer operation: a missing one is a compile error. */
type UnaryHandlers = { [N in UnaryOperationName]: (input: ParsedInput<N>) => MaybePromise<OperationOutput<N>> };
/** One handler per streamed operation, yielding NDJSON lines. */
type StreamHandlers = { [N in StreamOperationName]: (input: ParsedInput<N>) => Iterable<string> };
/** One handler per event operation: subscribes and returns the unsubscribe function. */
type EventHandlers = { [N in EventOperationName]: (input: ParsedInput<N>, onEvent: EventSink<N>) => () => void };

/** Builds the service over an open engine. */
export function createService(engine: Engine, options: ServiceOptions = {}): Service {
  const startedAt = Date.now();
  const topicTree = new TopicTree({ ...defaultTopicTreeLimits, ...options.topicTree });
  const statsSinks = new Set<(stats: WireStats) => void>();
  const rates = new RateSampler(
    () => sampleCounters(engine),
    options.rateIntervalMs,
    (seconds) => {
      topicTree.sample(seconds);
      if (statsSinks.size === 0) return;
      const stats = brokerStats(); // computed once per interval, shared by every subscriber
      for (const sink of statsSinks) sink(stats);
    },
  );
  // One listener on '#' feeds the topic tree; '#' does not match '$'-topics [MQTT-4.7.2-1].
  const stopTopicTree = engine.listen('#', (message) => topicTree.record(message));
  let closing = false;
  const wireQueue = (info: QueueInfo) => toWireQueue(info, rates.queue(info.name));
  const receivers = new PullReceivers(engine, (error, what) =>
    engine.logger.warn({ err: error }, `pull receiver: ${what} failed`),
  );
  const publish = async ({ payload, payloadEncoding, ...properties }: ParsedInput<'messages.publish'>) => {
    const receipt = await engine.publish({
      ...properties,
      payload: decodePayload(payload, payloadEncoding),
      protocol: 'api',
    });
    return { ...receipt, queues: [...receipt.queues] };
  };
  const settle =
    (outcome: PullSettlement) =>
    async ({ name, deliveryId, error }: { name: string; deliveryId: string; error?: string | undefined }) => {
      engine.getQueue(name); // queue-not-found first
      await receivers.settle(name, deliveryId, outcome, error);
      return { name, deliveryId, outcome };
    };

  function brokerStats(): WireStats {
    const { counters } = engine;
    const storage = engine.storageInfo();
    const deadCounts = engine.deadMessages.counts();
    return {
      startedAt,
      uptimeMs: Date.now() - startedAt,
      broker: {
        published: counters.published,
        publishRefused: counters.publishRefused,
        delivered: counters.delivered,
        commits: counters.commits,
        commitMsAverage: counters.commits > 0 ? counters.commitMsTotal / counters.commits : 0,
      },
      rates: rates.broker(),
      storage: {
        databaseBytes: storage.databaseBytes,
        logBytes: storage.logBytes,
        logStartId: String(storage.logStartId),
        logStartTime: storage.firstTimestamp,
      },
      queues: engine.listQueues().map((info) => {
        const { config: _config, createdAt: _createdAt, ...state } = wireQueue(info);
        return state;
      }),
      dead: { total: deadCounts.reduce((sum, row) => sum + row.count, 0), byQueue: deadCounts },
    };
  }

  /** Calls a subscriber, keeping its failure away from the engine's commit path. */
  const guarded =
    <E>(sink: (event: E) => void) =>
    (event: E) => {
      try {
        sink(event);
      } catch (error) {
        engine.logger.warn({ err: error }, 'live event subscriber failed');
      }
    };

  const unary: UnaryHandlers = {
    'queues.list': () => ({ queues: engine.listQueues().map(wireQueue) }),
    'queues.get': ({ name }) => wireQueue(engine.getQueue(name)),
    'queues.create': async ({ name, ...config }) => wireQueue(await engine.createQueue(name, config)),
    'queues.update': async ({ name, ...changes }) => wireQueue(await engine.updateQueue(name, changes)),
    'queues.delete': async ({ name, force }) => {
      await engine.deleteQueue(name, { force });
      return { name, deleted: true as const };
    },
    'queues.purge': async ({ name }) => ({ name, purged: await engine.purgeQueue(name) }),
    'queues.browse': ({ name, afterEntryId, limit }) => {
      const entries = engine.browseQueue(name, { afterEntryId: Number(afterEntryId ?? 0), limit });
      return {
        messages: entries.map((entry) => ({
          entryId: String(entry.entryId),
          state: entry.state,
          deliveryCount: entry.deliveryCount,
          expiresAt: entry.expiresAt,
          replayed: entry.replayed,
          message: toWireMessage(entry.message),
        })),
        nextAfterEntryId: entries.length === limit ? String(entries[entries.length - 1]!.entryId) : null,
      };
    },
    'dmq.list': ({ afterId, limit, ...filter }) => {
      const page = engine.deadMessages.list(filter, { limit, ...(afterId !== undefined && { afterId }) });
      return {
        deadMessages: page.map(toWireDeadMessage),
        nextAfterId: page.length === limit ? page[page.length - 1]!.id : null,
      };
    },
    'dmq.get': ({ id }) => toWireDeadMessage(engine.deadMessages.get(id)),
    'dmq.counts': () => {
      const counts = engine.deadMessages.counts();
      return { counts, total: counts.reduce((sum, row) => sum + row.count, 0) };
    },
    'dmq.redeliver': async (selection) => {
      const result = await engine.deadMessages.redeliver(toSelection(selection));
      return { redelivered: result.redelivered, failed: [...result.failed] };
    },
    'dmq.purge': async (selection) => ({ purged: await engine.deadMessages.purge(toSelection(selection)) }),
    'replay.start': (spec) => engine.replays.start(spec),
    'replay.get': ({ id }) => engine.replays.get(id),
    'replay.list': () => ({ replays: engine.replays.list() }),
    'replay.cancel': ({ id }) => engine.replays.cancel(id),
    'messages.publish': publish,
    'topics.publish': publish,
    'queues.receive': async ({ name, max, visibilityTimeoutMs, waitMs }) => {
      const received = await receivers.receive(name, { max, visibilityTimeoutMs, waitMs, label: 'http:receive' });
      return {
        messages: received.map(({ deliveryId, delivery, visibleUntil }) => ({
          deliveryId,
          deliveryCount: delivery.deliveryCount,
          replayed: delivery.replayed,
          visibleUntil,
          message: toWireMessage(delivery.message),
        })),
      };
    },
    'queues.ack': settle('ack'),
    'queues.reject': settle('reject'),
    'queues.release': settle('release'),
    'stats.get': () => brokerStats(),
    'topics.tree': ({ filter, limit }) => topicTree.snapshot(filter, limit),
    health: () => ({
      status: closing ? ('closing' as const) : ('ok' as const),
      version: options.version ?? '0.0.0',
      uptimeMs: Date.now() - startedAt,
    }),
  };

  const streams: StreamHandlers = {
    'dmq.export': (filter) => engine.deadMessages.exportNdjson(filter),
  };

  const events: EventHandlers = {
    'events.stream': ({ topics, stats, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      // One function for every filter: the router's listener set delivers a message once even
      // when the filters overlap.
      const onMessage = (message: Parameters<Parameters<Engine['listen']>[1]>[0]) =>
        emit(toMessageEvent(message, previewBytes));
      const stops = (topics ?? []).map((filter) => engine.listen(filter, onMessage));
      const onStats = (snapshot: WireStats) => emit({ type: 'stats', stats: snapshot });
      if (stats) statsSinks.add(onStats);
      return () => {
        for (const stop of stops) stop();
        statsSinks.delete(onStats);
      };
    },
    'topics.stream': ({ filter, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      return engine.listen(filter, (message) => emit(toMessageEvent(message, previewBytes)));
    },
  };

  rates.start();
  return {
    operations: new Set([...Object.keys(unary), ...Object.keys(streams), ...Object.keys(events)] as OperationName[]),
    async call(name, input) {
      const handler = unary[name] as (input: unknown) => MaybePromise<unknown>;
      try {
        return (await handler(parseInput(name, input))) as OperationOutput<typeof name>;
      } catch (error) {
        throw toSluiceError(error);
      }
    },
    stream(name, input) {
      const handler = streams[name] as (input: unknown) => Iterable<string>;
      return handler(parseInput(name, input));
    },
    subscribe(name, input, onEvent) {
      const handler = events[name] as (input: unknown, onEvent: EventSink) => () => void;
      return handler(parseInput(name, input), onEvent as EventSink);
    },
    get closing() {
      return closing;
    },
    close() {
      closing = true;
      rates.stop();
      stopTopicTree();
      statsSinks.clear();
      receivers.close();
    },
  };
}

function toSelection(selection: ParsedInput<'dmq.purge'>): DeadMessageSelection {
  if (selection.ids) return { ids: selection.ids };
  return { filter: selection.filter ?? {} }; // `all: true` is the empty filter
}

/** Lifetime totals for the rate sampler: broker in = published, out = delivered, dead = dead-lettered. */
function sampleCounters(engine: Engine): CounterSnapshot {
  const queues = new Map<string, { in: number; out: number; dead: number }>();
  let dead = 0;
  for (const { name, counters } of engine.listQueues()) {
    queues.set(name, { in: counters.enqueued, out: counters.delivered, dead: counters.deadLettered });
    dead += counters.deadLettered;
  }
  return { broker: { in: engine.counters.published, out: engine.counters.delivered, dead }, queues };
}
