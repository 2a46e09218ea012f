// The CLI's dmq and replay output, rendered from fixtures: every field a user needs to act is
// shown, errors use the CLI's own flag names, and help texts say what the options accept.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { contract, deadMessageFilterSchema, type OperationOutput } from '../../core/api/contract.ts';
import { clientCommands } from '../../core/cli.ts';
import { deadListHeaders, deadListRow, selection, showDead } from '../../core/cli/dmq.ts';
import { UsageError, deriveOptions, inFlagWords, table } from '../../core/cli/kit.ts';
import { replayListHeaders, replayListRow, showReplay } from '../../core/cli/replay.ts';

const at = (iso: string) => Date.parse(iso);

const dead: OperationOutput<'dmq.get'> = contract['dmq.get'].output.parse({
  id: '17',
  dmq: '#DMQ',
  queue: 'orders',
  reason: 'max-redelivery',
  deliveryCount: 2,
  totalDeliveryCount: 5,
  firstDeliveredAt: at('2026-12-05T06:00:01Z'),
  lastDeliveredAt: at('2026-12-05T06:00:09Z'),
  deadAt: at('2026-12-05T06:00:10Z'),
  consumer: 'amqp:mes',
  error: 'parse failed',
  message: {
    id: '42',
    timestamp: at('2026-12-05T05:59:59Z'),
    topic: 'plant/line-1/orders',
    payload: '{"qty":3}',
    payloadEncoding: 'utf8',
    headers: { line: '1' },
    priority: 4,
    publisher: 'plc-7',
    protocol: 'mqtt',
    expiresAt: null,
    dmqEligible: true,
  },
});

const replay: OperationOutput<'replay.get'> = contract['replay.get'].output.parse({
  id: '3',
  spec: { target: { queue: 'audit' }, start: { kind: 'beginning' }, topicFilter: 'plant/+/orders' },
  state: 'completed',
  startId: '1',
  endId: '59',
  scanned: 59,
  replayed: 30,
  total: 30,
  inRange: 59,
  waiting: false,
  createdAt: at('2026-12-05T06:01:00Z'),
  finishedAt: at('2026-12-05T06:01:02Z'),
  error: null,
});

/** The cell under `header` in a rendered two-line table. */
function cell(rendered: string, header: string): string {
  const [head, row] = rendered.split('\n') as [string, string];
  const start = head.indexOf(header);
  assert.ok(start >= 0, `no ${header} column in: ${head}`);
  const next = head.slice(start + header.length).search(/\S/);
  const end = next < 0 ? undefined : start + header.length + next;
  return row.slice(start, end).trim();
}

const human = (words: string) => clientCommands.find((c) => c.words.join(' ') === words)!.human;

describe('dmq tables', () => {
  test('dmq list shows protocol, publisher, deliveries with their total, and the last delivery time', () => {
    const rendered = human('dmq list')({ deadMessages: [dead], nextAfterId: null } as never);
    assert.equal(rendered, table(deadListHeaders, [deadListRow(dead)]));
    const expected: Record<(typeof deadListHeaders)[number], string> = {
      ID: '17',
      QUEUE: 'orders',
      REASON: 'max-redelivery',
      DELIVERIES: '2',
      TOTAL: '5',
      'LAST DELIVERED': '2026-12-05T06:00:09.000Z',
      'DEAD AT': '2026-12-05T06:00:10.000Z',
      PROTOCOL: 'mqtt',
      PUBLISHER: 'plc-7',
      TOPIC: 'plant/line-1/orders',
      ERROR: 'parse failed',
    };
    for (const [header, value] of Object.entries(expected)) assert.equal(cell(rendered, header), value, header);
  });

  test('dmq show shows protocol, publisher, first and last delivery and the total across redeliveries', () => {
    const shown = showDead(dead);
    assert.match(shown, /^protocol\s+mqtt$/m);
    assert.match(shown, /^publisher\s+plc-7$/m);
    assert.match(shown, /^first delivered\s+2026-12-05T06:00:01\.000Z$/m);
    assert.match(shown, /^last delivered\s+2026-12-05T06:00:09\.000Z$/m);
    assert.match(shown, /^deliveries\s+2 \(5 in all, across redeliveries from the DMQ\)$/m);
    assert.match(shown, /^consumer\s+amqp:mes$/m);
  });

  test('a dead message without publisher or protocol shows a dash, not undefined', () => {
    const { publisher: _p, protocol: _q, ...message } = dead.message;
    const rendered = table(deadListHeaders, [deadListRow({ ...dead, message })]);
    assert.equal(cell(rendered, 'PROTOCOL'), '-');
    assert.equal(cell(rendered, 'PUBLISHER'), '-');
    assert.doesNotMatch(showDead({ ...dead, message }), /undefined/);
  });

  test('redeliver or purge without ids, filter or --all names the CLI flags, not the API field', () => {
    assert.throws(
      () => selection({}, {}),
      (e: unknown) => e instanceof UsageError && /--all/.test(e.message) && !/all: true/.test(e.message),
    );
    assert.throws(() => selection({ ids: ['1'] }, { all: true }), UsageError);
    assert.deepEqual(selection({}, { all: true }), { all: true });
    assert.deepEqual(selection({}, { queue: 'orders' }), { filter: { queue: 'orders' } });
  });

  test('--dead-from and --dead-until say they take ISO 8601 times, which they parse', () => {
    const cmd = new Command('list').exitOverride();
    deriveOptions(cmd, deadMessageFilterSchema.shape);
    const help = cmd.helpInformation();
    assert.match(help, /--dead-from <time>\s+Dead at or after \(ISO 8601/);
    assert.match(help, /--dead-until <time>\s+Dead at or before \(ISO 8601/);
    cmd.parse(['--dead-from', '2026-12-05T06:00:00Z', '--dead-until', '1700000000000'], { from: 'user' });
    assert.deepEqual(cmd.opts(), { deadFrom: at('2026-12-05T06:00:00Z'), deadUntil: 1_700_000_000_000 });
  });
});

describe('queue tables', () => {
  test('queues browse shows deliveries with their total, protocol and publisher', () => {
    const rendered = human('queues browse')({
      messages: [
        {
          entryId: '8',
          state: 'ready',
          deliveryCount: 0,
          totalDeliveryCount: 5,
          expiresAt: null,
          replayed: false,
          message: dead.message,
        },
      ],
      nextAfterEntryId: null,
    } as never);
    const expected = { ENTRY: '8', DELIVERIES: '0', TOTAL: '5', PROTOCOL: 'mqtt', PUBLISHER: 'plc-7' };
    for (const [header, value] of Object.entries(expected)) assert.equal(cell(rendered, header), value, header);
  });
});

describe('replay tables', () => {
  test('replay list shows replayed of total apart from scanned of the range', () => {
    const rendered = human('replay list')({ replays: [replay] } as never);
    assert.equal(rendered, table(replayListHeaders, [replayListRow(replay)]));
    const expected: Record<(typeof replayListHeaders)[number], string> = {
      ID: '3',
      STATE: 'completed',
      TARGET: 'audit',
      'TOPIC FILTER': 'plant/+/orders',
      REPLAYED: '30',
      TOTAL: '30',
      SCANNED: '59',
      'IN RANGE': '59',
      CREATED: '2026-12-05T06:01:00.000Z',
    };
    for (const [header, value] of Object.entries(expected)) assert.equal(cell(rendered, header), value, header);
  });

  test('replay status reads as finished when everything that matched was replayed', () => {
    assert.match(
      showReplay(replay),
      /^progress\s+30 of 30 matching plant\/\+\/orders replayed · 59 of 59 log message\(s\) scanned$/m,
    );
  });

  test('input problems are said with the command’s flags', () => {
    const start = clientCommands.find((c) => c.words.join(' ') === 'replay start')!;
    assert.equal(
      inFlagWords('start.id: a message id is a positive decimal number (ids start at 1)', start, []),
      '--from-id: a message id is a positive decimal number (ids start at 1)',
    );
    const list = clientCommands.find((c) => c.words.join(' ') === 'dmq list')!;
    assert.equal(inFlagWords('limit: too big; deadFrom: bad', list, []), '--limit: too big; --dead-from: bad');
    const show = clientCommands.find((c) => c.words.join(' ') === 'dmq show')!;
    assert.equal(inFlagWords('id: not an id', show, ['id']), '<id>: not an id');
  });
});
