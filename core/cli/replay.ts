/**
 * `sluice replay …`: start, status, list, cancel. Progress reads as "replayed of total" (the
 * messages that match the topic filter) and "scanned of in range" (the log messages looked at).
 */
import type { OperationOutput, UnaryOperationName } from '../api/contract.ts';
import { UsageError, command, details, parseTime, table, time, type ClientCommand, type Invocation } from './kit.ts';

type ReplayStatus = OperationOutput<'replay.get'>;

/** One line of progress: copies of what matches, and log messages scanned of the range. */
export function replayProgress(r: ReplayStatus): string {
  const what = r.spec.topicFilter === undefined ? '' : ` matching ${r.spec.topicFilter}`;
  return `${r.replayed} of ${r.total}${what} replayed · ${r.scanned} of ${r.inRange} log message(s) scanned`;
}

/** `replay status` and friends: one replay in detail. */
export function showReplay(r: ReplayStatus): string {
  return details([
    ['replay', `${r.id} (${r.state}${r.waiting ? ', waiting for room in the queue' : ''})`],
    ['target', r.spec.target.queue],
    ['topic filter', r.spec.topicFilter ?? '-'],
    ['progress', replayProgress(r)],
    ['log range', `${r.startId} … ${r.endId}`],
    ['created', time(r.createdAt)],
    ['finished', time(r.finishedAt)],
    ...(r.error !== null ? [['error', r.error] as const] : []),
  ]);
}

/** `replay list`'s columns. */
export const replayListHeaders = [
  'ID',
  'STATE',
  'TARGET',
  'TOPIC FILTER',
  'REPLAYED',
  'TOTAL',
  'SCANNED',
  'IN RANGE',
  'CREATED',
] as const;

/** One `replay list` row, in `replayListHeaders` order. */
export function replayListRow(r: ReplayStatus): Array<string | number> {
  return [
    r.id,
    r.state,
    r.spec.target.queue,
    r.spec.topicFilter ?? '-',
    r.replayed,
    r.total,
    r.scanned,
    r.inRange,
    time(r.createdAt),
  ];
}

function replayPosition(options: Record<string, unknown>, edge: 'from' | 'to') {
  const at = options[`${edge}Time`] as string | undefined;
  const id = options[`${edge}Id`] as string | undefined;
  const beginning = edge === 'from' && options.fromBeginning === true;
  if ([at, id, beginning || undefined].filter((given) => given !== undefined).length > 1)
    throw new UsageError(`give only one of --${edge}-time, --${edge}-id${edge === 'from' ? ', --from-beginning' : ''}`);
  if (beginning) return { kind: 'beginning' as const };
  if (at !== undefined) return { kind: 'timestamp' as const, at: parseTime(at) };
  if (id !== undefined) return { kind: 'message-id' as const, id };
  return undefined;
}

/** Polls a replay until it is no longer running, showing progress on a terminal. */
async function waitForReplay(status: ReplayStatus, run: Invocation) {
  let current = status;
  while (current.state === 'running') {
    if (process.stderr.isTTY) process.stderr.write(`\r${replayProgress(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    current = await run.client.call('replay.get', { id: current.id });
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return current;
}

/** The replay commands. */
export const replayCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['replay', 'start'],
    op: 'replay.start',
    derive: false,
    extra: (cmd) =>
      cmd
        .requiredOption('--queue <name>', 'target queue')
        .option('--create', 'create the target queue if missing')
        .option('--from-beginning', 'start at the oldest retained message')
        .option('--from-time <time>', 'start at this time (ISO 8601 or ms since epoch)')
        .option('--from-id <id>', 'start at this message id (ids start at 1)')
        .option('--to-time <time>', 'stop after this time (ISO 8601 or ms since epoch)')
        .option('--to-id <id>', 'stop after this message id')
        .option('--topic <filter>', 'only messages matching this topic filter')
        .option('--wait', 'follow progress until the replay ends'),
    input: (_args, options) => {
      const start = replayPosition(options, 'from');
      if (!start) throw new UsageError('say where to start: --from-beginning, --from-time or --from-id');
      const end = replayPosition(options, 'to');
      return {
        target: { queue: options.queue as string, ...(options.create === true && { create: {} }) },
        start,
        ...(end && { end: end as Exclude<typeof end, { kind: 'beginning' }> }),
        ...(options.topic !== undefined && { topicFilter: options.topic as string }),
      };
    },
    flags: {
      'target.queue': '--queue',
      'start.id': '--from-id',
      'start.at': '--from-time',
      'end.id': '--to-id',
      'end.at': '--to-time',
      topicFilter: '--topic',
    },
    hints: { 'queue-not-found': 'add --create to create it' },
    human: showReplay,
    follow: (out, run) => (run.options.wait === true ? waitForReplay(out, run) : Promise.resolve(out)),
  }),
  command({
    words: ['replay', 'status'],
    op: 'replay.get',
    args: ['<id>'],
    extra: (cmd) => cmd.option('--wait', 'follow progress until the replay ends'),
    human: showReplay,
    follow: (out, run) => (run.options.wait === true ? waitForReplay(out, run) : Promise.resolve(out)),
  }),
  command({
    words: ['replay', 'list'],
    op: 'replay.list',
    human: (out) => table(replayListHeaders, out.replays.map(replayListRow)),
  }),
  command({ words: ['replay', 'cancel'], op: 'replay.cancel', args: ['<id>'], human: showReplay }),
];
