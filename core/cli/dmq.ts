/**
 * `sluice dmq …`: list, show, counts, redeliver, purge and export dead messages. Tables show
 * what a user needs to act on a dead message: where it came from (protocol, publisher), how
 * often and when it was delivered, and why it died.
 */
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { contract, deadMessageFilterSchema, parseInput, type OperationOutput } from '../api/contract.ts';
import {
  UsageError,
  command,
  deriveOptions,
  details,
  kebab,
  pick,
  table,
  time,
  type ClientCommand,
  type Output,
  type RunClient,
} from './kit.ts';
import type { UnaryOperationName } from '../api/contract.ts';

type DeadMessage = OperationOutput<'dmq.get'>;

/** Deliveries of the last life, with the total across DMQ round trips when it differs. */
export function deliveries(d: Pick<DeadMessage, 'deliveryCount' | 'totalDeliveryCount'>): string {
  return d.totalDeliveryCount > d.deliveryCount
    ? `${d.deliveryCount} (${d.totalDeliveryCount} in all, across redeliveries from the DMQ)`
    : String(d.deliveryCount);
}

/** `dmq list`'s columns. */
export const deadListHeaders = [
  'ID',
  'QUEUE',
  'REASON',
  'DELIVERIES',
  'TOTAL',
  'LAST DELIVERED',
  'DEAD AT',
  'PROTOCOL',
  'PUBLISHER',
  'TOPIC',
  'ERROR',
] as const;

/** One `dmq list` row, in `deadListHeaders` order. */
export function deadListRow(d: DeadMessage): Array<string | number> {
  return [
    d.id,
    d.queue,
    d.reason,
    d.deliveryCount,
    d.totalDeliveryCount,
    time(d.lastDeliveredAt),
    time(d.deadAt),
    d.message.protocol ?? '-',
    d.message.publisher ?? '-',
    d.message.topic,
    d.error ?? '',
  ];
}

/** `dmq show`: every fact of a dead message and its original message. */
export function showDead(d: DeadMessage): string {
  const m = d.message;
  return details([
    ['id', d.id],
    ['dmq', d.dmq],
    ['queue', d.queue],
    ['reason', d.reason],
    ['deliveries', deliveries(d)],
    ['first delivered', time(d.firstDeliveredAt)],
    ['last delivered', time(d.lastDeliveredAt)],
    ['dead at', time(d.deadAt)],
    ['consumer', d.consumer ?? '-'],
    ['error', d.error ?? '-'],
    ['message id', m.id],
    ['topic', m.topic],
    ['protocol', m.protocol ?? '-'],
    ['publisher', m.publisher ?? '-'],
    ['published', time(m.timestamp)],
    ['expires', time(m.expiresAt)],
    ['priority', m.priority],
    ...(m.contentType !== undefined ? [['content type', m.contentType] as const] : []),
    ...(m.correlationId !== undefined ? [['correlation id', m.correlationId] as const] : []),
    ...(m.replyTo !== undefined ? [['reply to', m.replyTo] as const] : []),
    ['headers', JSON.stringify(m.headers)],
    ['payload', m.payloadEncoding === 'utf8' ? m.payload : `(base64) ${m.payload}`],
  ]);
}

const filterFields = Object.keys(deadMessageFilterSchema.shape);
const filterFlags = filterFields.map((field) => `--${kebab(field)}`).join(', ');

/**
 * Selection input for dmq redeliver/purge: ids, filter options, or --all — exactly one, said
 * in the CLI's own words (the API's `all: true` is `--all` here).
 */
export function selection(args: Record<string, unknown>, options: Record<string, unknown>) {
  const ids = (args.ids as string[] | undefined) ?? [];
  const filter = pick(options, filterFields);
  const given = [ids.length > 0, Object.keys(filter).length > 0, options.all === true].filter(Boolean).length;
  if (given === 0)
    throw new UsageError(`say which dead messages: give their ids, filter options (${filterFlags}) or --all`);
  if (given > 1) throw new UsageError('give only one of: ids, filter options, --all');
  if (ids.length > 0) return { ids };
  if (options.all === true) return { all: true as const };
  return { filter };
}

const selectionExtra = (cmd: Command) => {
  cmd.option('--all', 'every dead message');
  deriveOptions(cmd, deadMessageFilterSchema.shape);
};

/** The dmq commands that are one contract call each. */
export const dmqCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['dmq', 'list'],
    op: 'dmq.list',
    human: (out) =>
      table(deadListHeaders, out.deadMessages.map(deadListRow)) +
      (out.nextAfterId ? `\nmore: --after-id ${out.nextAfterId}` : ''),
  }),
  command({ words: ['dmq', 'show'], op: 'dmq.get', args: ['<id>'], human: showDead }),
  command({
    words: ['dmq', 'counts'],
    op: 'dmq.counts',
    human: (out) =>
      `${table(
        ['DMQ', 'QUEUE', 'COUNT'],
        out.counts.map((c) => [c.dmq, c.queue, c.count]),
      )}\ntotal ${out.total}`,
  }),
  command({
    words: ['dmq', 'redeliver'],
    op: 'dmq.redeliver',
    args: ['[ids...]'],
    derive: false,
    extra: selectionExtra,
    input: selection,
    human: (out) =>
      [`Redelivered ${out.redelivered}`, ...out.failed.map((f) => `  ${f.id}: ${f.code}: ${f.detail}`)].join('\n'),
  }),
  command({
    words: ['dmq', 'purge'],
    op: 'dmq.purge',
    args: ['[ids...]'],
    derive: false,
    extra: selectionExtra,
    input: selection,
    human: (out) => `Purged ${out.purged} dead message(s)`,
  }),
];

/** `dmq export`: streams NDJSON to stdout or a file. */
export function addDmqExport(group: Command, run: RunClient, io: Output): void {
  const exporter = group
    .command('export')
    .description(contract['dmq.export'].summary)
    .option('--output <file>', 'write to a file instead of stdout');
  const fields = deriveOptions(exporter, deadMessageFilterSchema.shape);
  exporter.action(async (_options: unknown, self: Command) => {
    await run(self, async ({ client, options }) => {
      const input = pick(options, fields);
      parseInput('dmq.export', input);
      const file = options.output === undefined ? undefined : createWriteStream(options.output as string);
      let count = 0;
      for await (const line of client.stream('dmq.export', input)) {
        const text = `${JSON.stringify(line)}\n`;
        if (file) file.write(text);
        else io.out(text);
        count++;
      }
      if (file) await new Promise((resolve) => file.end(resolve));
      if (file) io.err(`Exported ${count} dead message(s) to ${options.output as string}\n`);
      return '';
    });
  });
}
