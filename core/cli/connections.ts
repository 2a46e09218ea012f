/**
 * `sluice connections list|disconnect` and `bridges status`: who the broker talks to, client
 * connections on every protocol and store-and-forward bridges to upstream brokers.
 */
import type { UnaryOperationName } from '../api/contract.ts';
import { command, table, time, type ClientCommand } from './kit.ts';

/** `connections list|disconnect` and `bridges status`. */
export const connectionCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['connections', 'list'],
    op: 'connections.list',
    human: (o) =>
      table(
        ['ID', 'PROTOCOL', 'CLIENT', 'USER', 'ADDRESS', 'SINCE', 'IN', 'OUT'],
        o.connections.map((c) => [
          c.id,
          c.protocol,
          c.clientId ?? '-',
          c.user ?? '(anonymous)',
          c.address ?? '-',
          time(c.connectedAt),
          c.counters.messagesIn,
          c.counters.messagesOut,
        ]),
      ),
  }),
  command({
    words: ['connections', 'disconnect'],
    op: 'connections.disconnect',
    args: ['<id>'],
    human: (o) => `Disconnected ${o.id}`,
  }),
  command({
    words: ['bridges', 'status'],
    op: 'bridges.status',
    human: (o) =>
      table(
        ['BRIDGE', 'UPSTREAM', 'DIRECTION', 'STATE', 'BACKLOG', 'FORWARDED', 'RECEIVED', 'LAST ERROR', 'ALARMS'],
        o.bridges.map((b) => [
          b.name,
          b.upstream,
          b.direction,
          b.state,
          b.backlog,
          b.forwarded,
          b.received,
          b.lastError?.message ?? '-',
          b.alarms.join(', ') || '-',
        ]),
      ),
  }),
];
