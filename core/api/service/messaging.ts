/**
 * Messages through queues and topics: queue management and browsing, dead messages, replay,
 * message journeys, publishing, pull receivers (receive, ack, reject, release), the topic tree,
 * stats and Sparkplug.
 */
import type { DeadMessageSelection } from '../../engine/dmq.ts';
import type { Engine, QueueInfo } from '../../engine/engine.ts';
import type { ParsedInput, WireStats } from '../contract.ts';
import type { RateSampler } from '../rates.ts';
import type { PullReceivers, PullSettlement } from '../receivers.ts';
import type { SparkplugService } from '../sparkplug.ts';
import type { TopicTree } from '../topic-tree.ts';
import { decodePayload, toWireDeadMessage, toWireMessage, toWireQueue } from '../wire.ts';
import type { AreaHandlers, CallContext, StreamHandlers } from './context.ts';

/** What the messaging operations work with besides the engine. */
export interface MessagingParts {
  readonly rates: RateSampler;
  readonly receivers: PullReceivers;
  readonly topicTree: TopicTree;
  readonly sparkplug: SparkplugService;
  /** The broker's stats now (core/api/service/stats.ts). */
  readonly brokerStats: () => WireStats;
}

/** The handlers of queues, dmq, replay, messages, topics, stats and sparkplug operations. */
export function messagingHandlers(
  engine: Engine,
  { rates, receivers, topicTree, sparkplug, brokerStats }: MessagingParts,
) {
  const wireQueue = (info: QueueInfo) => toWireQueue(info, rates.queue(info.name));
  const publish = async (
    { payload, payloadEncoding, ...properties }: ParsedInput<'messages.publish'>,
    { principal }: CallContext,
  ) => {
    const receipt = await engine.publish({
      ...properties,
      payload: decodePayload(payload, payloadEncoding),
      // The door it came through (http for the REST API), as MQTT and AMQP record theirs; `api`
      // only for the host's own calls. The publisher is the authenticated user, when there is one.
      protocol: principal.protocol === 'host' ? 'api' : principal.protocol,
      ...(principal.user !== null && { publisher: principal.user }),
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

  const unary: AreaHandlers<'queues' | 'dmq' | 'replay' | 'messages' | 'topics' | 'stats' | 'sparkplug'> = {
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
          totalDeliveryCount: entry.totalDeliveryCount,
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
      const byReason = engine.deadMessages.countsByReason();
      return { counts, total: counts.reduce((sum, row) => sum + row.count, 0), byReason };
    },
    'dmq.redeliver': async (selection) => {
      const result = await engine.deadMessages.redeliver(toSelection(selection));
      return { redelivered: result.redelivered, failed: [...result.failed] };
    },
    'dmq.purge': async (selection) => ({ purged: await engine.deadMessages.purge(toSelection(selection)) }),
    'replay.start': (spec) => engine.replays.start(spec),
    'messages.journey': ({ id }) => engine.journeyOf(id),
    'replay.get': ({ id }) => engine.replays.get(id),
    'replay.list': () => ({ replays: engine.replays.list() }),
    'replay.cancel': ({ id }) => engine.replays.cancel(id),
    'messages.publish': publish,
    'topics.publish': publish,
    'queues.receive': async ({ name, max, visibilityTimeoutMs, waitMs }, { principal }) => {
      const label = `${principal.protocol === 'host' ? 'api' : principal.protocol}:receive`;
      const received = await receivers.receive(name, { max, visibilityTimeoutMs, waitMs, label });
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
    'sparkplug.state': sparkplug.handlers['sparkplug.state'],
    'sparkplug.rebirth': (input, { principal }) =>
      sparkplug.handlers['sparkplug.rebirth'](input, {
        protocol: principal.protocol === 'host' ? 'api' : principal.protocol,
        user: principal.user,
      }),
  };
  const streams: Pick<StreamHandlers, 'dmq.export'> = {
    'dmq.export': (filter) => engine.deadMessages.exportNdjson(filter),
  };
  return { unary, streams };
}

function toSelection(selection: ParsedInput<'dmq.purge'>): DeadMessageSelection {
  if (selection.ids) return { ids: selection.ids };
  return { filter: selection.filter ?? {} }; // `all: true` is the empty filter
}
