/**
 * Messages through queues and topics: `sluice queues …` (manage, browse, receive and settle),
 * `publish`, `stats` and `topics publish|tree`. The queue columns are shared by `queues list` and
 * `stats`.
 */
import { readFileSync } from 'node:fs';
import type { OperationInput, OperationOutput, UnaryOperationName, WireMessage } from '../api/contract.ts';
import {
  UsageError,
  bytes,
  command,
  details,
  inputShape,
  pick,
  preview,
  rate,
  rates,
  table,
  time,
  type ClientCommand,
} from './kit.ts';

/** The live state columns shared by `queues list` and `stats`. */
const queueState = (q: OperationOutput<'stats.get'>['queues'][number]) => [
  q.name,
  q.depth,
  q.inFlight,
  q.consumers,
  rate(q.rates.inPerSec),
  rate(q.rates.outPerSec),
  rate(q.rates.deadPerSec),
];
const queueRow = (q: OperationOutput<'queues.get'>) => [...queueState(q), q.config.subscriptions.join(' ')];
const queueHeaders = ['NAME', 'DEPTH', 'IN-FLIGHT', 'CONSUMERS', 'IN/S', 'OUT/S', 'DEAD/S', 'SUBSCRIPTIONS'];

function showQueue(q: OperationOutput<'queues.get'>): string {
  const c = q.config;
  return details([
    ['name', q.name],
    ['depth', `${q.depth} messages, ${bytes(q.bytes)} (max ${c.maxDepthMessages}, ${bytes(c.maxDepthBytes)})`],
    ['in flight', q.inFlight],
    ['consumers', `${q.consumers} (${c.accessType})`],
    ['rates', rates(q.rates)],
    ['subscriptions', c.subscriptions.join(' ') || '-'],
    ['overflow', c.overflow],
    ['max redelivery', c.maxRedelivery],
    ['default TTL', c.defaultTtlMs === null ? 'none' : `${c.defaultTtlMs} ms`],
    ['dead messages to', c.deadMessageQueue],
    [
      'counters',
      Object.entries(q.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · '),
    ],
    ['created', time(q.createdAt)],
  ]);
}

/** `queues list|show|create|update|delete|purge|browse`. */
export const queueCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['queues', 'list'],
    op: 'queues.list',
    human: (out) => table(queueHeaders, out.queues.map(queueRow)),
  }),
  command({ words: ['queues', 'show'], op: 'queues.get', args: ['<name>'], human: showQueue }),
  command({
    words: ['queues', 'create'],
    op: 'queues.create',
    args: ['<name>'],
    human: (q) => `Created queue ${q.name}\n${showQueue(q)}`,
  }),
  command({
    words: ['queues', 'update'],
    op: 'queues.update',
    args: ['<name>'],
    human: (q) => `Updated queue ${q.name}\n${showQueue(q)}`,
  }),
  command({
    words: ['queues', 'delete'],
    op: 'queues.delete',
    args: ['<name>'],
    human: (out) => `Deleted queue ${out.name}`,
  }),
  command({
    words: ['queues', 'purge'],
    op: 'queues.purge',
    args: ['<name>'],
    human: (out) => `Purged ${out.purged} ready message(s) from ${out.name}`,
  }),
  command({
    words: ['queues', 'browse'],
    op: 'queues.browse',
    args: ['<name>'],
    human: (out) =>
      table(
        ['ENTRY', 'STATE', 'DELIVERIES', 'TOTAL', 'MESSAGE', 'TOPIC', 'PROTOCOL', 'PUBLISHER', 'PAYLOAD'],
        out.messages.map((e) => [
          e.entryId,
          e.state,
          e.deliveryCount,
          e.totalDeliveryCount,
          e.message.id,
          e.message.topic,
          e.message.protocol ?? '-',
          e.message.publisher ?? '-',
          preview(e.message),
        ]),
      ) + (out.nextAfterEntryId ? `\nmore: --after-entry-id ${out.nextAfterEntryId}` : ''),
  }),
];

/** `publish`, `stats`, `queues receive|ack|reject|release` and `topics publish|tree`. */
export const messageCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['publish'],
    op: 'messages.publish',
    args: ['<topic>', '[payload]'],
    extra: (cmd) => cmd.option('--file <path>', 'read the payload from a file (sent as base64)'),
    input: (args, options) => {
      const derived = pick(options, Object.keys(inputShape('messages.publish')));
      if (options.file === undefined) return { ...derived, ...args } as OperationInput<'messages.publish'>;
      if (args.payload !== undefined) throw new UsageError('give the payload as an argument or --file, not both');
      const payload = readFileSync(options.file as string).toString('base64');
      return { ...derived, ...args, payload, payloadEncoding: 'base64' } as OperationInput<'messages.publish'>;
    },
    human: (out) =>
      `Published message ${out.id} → ${out.queues.length > 0 ? out.queues.join(', ') : '(no queue matched)'}`,
  }),
  command({
    words: ['stats'],
    op: 'stats.get',
    human: (s) =>
      [
        details([
          ['uptime', `${Math.round(s.uptimeMs / 1000)} s`],
          ['rates', rates(s.rates)],
          ['published', `${s.broker.published} (${s.broker.publishRefused} refused)`],
          ['delivered', s.broker.delivered],
          ['commits', `${s.broker.commits} (avg ${s.broker.commitMsAverage.toFixed(2)} ms)`],
          ['database', bytes(s.storage.databaseBytes)],
          [
            'log',
            `${bytes(s.storage.logBytes)} from message ${s.storage.logStartId} (${time(s.storage.logStartTime)})`,
          ],
          ['dead messages', s.dead.total],
        ]),
        '',
        table(queueHeaders.slice(0, -1), s.queues.map(queueState)),
      ].join('\n'),
  }),
  command({
    words: ['queues', 'receive'],
    op: 'queues.receive',
    args: ['<name>'],
    human: (out) =>
      out.messages.length === 0
        ? 'No message ready'
        : table(
            ['DELIVERY', 'DELIVERIES', 'MESSAGE', 'TOPIC', 'VISIBLE UNTIL', 'PAYLOAD'],
            out.messages.map((m) => [
              m.deliveryId,
              m.deliveryCount,
              m.message.id,
              m.message.topic,
              time(m.visibleUntil),
              preview(m.message),
            ]),
          ),
  }),
  ...(['ack', 'reject', 'release'] as const).map((outcome) =>
    command({
      words: ['queues', outcome],
      op: `queues.${outcome}`,
      args: ['<name>', '<deliveryId>'],
      human: (out) => `${out.outcome}: delivery ${out.deliveryId} on ${out.name}`,
    }),
  ),
  command({
    words: ['topics', 'publish'],
    op: 'topics.publish',
    args: ['<topic>', '[payload]'],
    extra: (cmd) => cmd.option('--file <path>', 'read the payload from a file'),
    input: (args, options) => {
      const derived = pick(options, Object.keys(inputShape('topics.publish')));
      if (options.file === undefined) return { ...derived, ...args } as OperationInput<'topics.publish'>;
      if (args.payload !== undefined) throw new UsageError('give the payload as an argument or --file, not both');
      const payload = readFileSync(options.file as string).toString('base64');
      return { ...derived, ...args, payload, payloadEncoding: 'base64' } as OperationInput<'topics.publish'>;
    },
    human: (out) =>
      `Published message ${out.id} → ${out.queues.length > 0 ? out.queues.join(', ') : '(no queue matched)'}`,
  }),
  command({
    words: ['topics', 'tree'],
    op: 'topics.tree',
    human: (out) =>
      table(
        ['TOPIC', 'MESSAGES', 'RATE/S', 'LAST', 'LAST PAYLOAD'],
        out.topics.map((t) => [
          t.topic,
          t.messages,
          rate(t.ratePerSec),
          time(t.lastTimestamp),
          preview({ ...t.lastMessage } as unknown as WireMessage),
        ]),
      ) +
      (out.matched > out.topics.length ? `\n${out.matched - out.topics.length} more: raise --limit` : '') +
      (out.untrackedMessages > 0
        ? `\n${out.untrackedMessages} message(s) on topics beyond the ${out.maxTracked}-topic tracking cap`
        : ''),
  }),
];
