/**
 * MCP resources: the broker overview, each queue's state and the dead-message summary per
 * reason, read through the service as the agent's user (so a user sees only what it may
 * browse). Subscriptions are polled once a second and notify when the state an agent reads
 * changed (rates excluded: they change every second and say nothing new).
 */
import type { Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { CallContext, Service } from '../../api/service.ts';
import { SluiceError } from '../../errors.ts';
import { previewPayloads } from './results.ts';

const overviewUri = 'sluice://overview';
const deadUri = 'sluice://dead-messages';
const queuePrefix = 'sluice://queues/';

/** The fixed resources. */
export const staticResources: Resource[] = [
  {
    uri: overviewUri,
    name: 'overview',
    title: 'Broker overview',
    description: 'Uptime, rates, storage, the queues with their depth and the dead-message total',
    mimeType: 'application/json',
  },
  {
    uri: deadUri,
    name: 'dead-messages',
    title: 'Dead messages per queue and reason',
    description: 'How many messages died in each queue, and why (max-redelivery, ttl-expired, overflow, rejected)',
    mimeType: 'application/json',
  },
];

/** One resource per queue. */
export const queueTemplate: ResourceTemplate = {
  uriTemplate: `${queuePrefix}{name}`,
  name: 'queue',
  title: 'A queue',
  description: 'One queue: configuration, depth, in-flight, consumers, counters, rates and its dead messages',
  mimeType: 'application/json',
};

/** The queues `context` may see, as resources (none when it may not list queues). */
export async function listQueueResources(service: Service, context: CallContext): Promise<Resource[]> {
  try {
    const { queues } = await service.call('queues.list', {}, context);
    return queues.map((queue) => ({
      uri: queueUri(queue.name),
      name: queue.name,
      title: `Queue ${queue.name}`,
      mimeType: 'application/json',
    }));
  } catch {
    return [];
  }
}

/** A queue's resource URI (the name URI-encoded: `mqtt/plc-7` stays one segment). */
export const queueUri = (name: string) => `${queuePrefix}${encodeURIComponent(name)}`;

/** Reads a resource as `context`; unknown URIs are invalid-input, refusals not-authorized. */
export async function readResource(service: Service, context: CallContext, uri: string): Promise<unknown> {
  if (uri === overviewUri) {
    const stats = await service.call('stats.get', {}, context);
    return {
      uptimeMs: stats.uptimeMs,
      rates: stats.rates,
      broker: stats.broker,
      storage: stats.storage,
      deadMessages: stats.dead.total,
      queues: stats.queues.map((q) => ({
        name: q.name,
        depth: q.depth,
        inFlight: q.inFlight,
        consumers: q.consumers,
        deadLettered: q.counters.deadLettered,
      })),
    };
  }
  if (uri === deadUri) {
    const { total, byReason } = await service.call('dmq.counts', {}, context);
    return { total, byQueueAndReason: byReason };
  }
  if (uri.startsWith(queuePrefix)) {
    const name = decodeURIComponent(uri.slice(queuePrefix.length));
    const queue = await service.call('queues.get', { name }, context);
    const dead = await service.call('dmq.counts', {}, context).catch(() => undefined);
    const head = await service.call('queues.browse', { name, limit: 5 }, context).catch(() => undefined);
    return {
      ...queue,
      ...(dead && { deadByReason: dead.byReason.filter((row) => row.queue === name) }),
      ...(head && { head: previewPayloads(head.messages, 256) }),
    };
  }
  throw new SluiceError('invalid-input', `No resource "${uri}"; see resources/list and resources/templates/list`);
}

/** What a subscription compares between polls: the resource without its rates and clocks. */
export async function fingerprint(service: Service, context: CallContext, uri: string): Promise<string> {
  const value = await readResource(service, context, uri);
  return JSON.stringify(value, (key, field: unknown) =>
    key === 'rates' || key === 'uptimeMs' || key === 'commitMsAverage' || key.endsWith('PerSec') ? undefined : field,
  );
}
