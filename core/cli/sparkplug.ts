/**
 * `sluice sparkplug …`: the Sparkplug B state (edge nodes, devices, health) and the rebirth
 * request (docs/sparkplug.md).
 */
import type { OperationOutput, UnaryOperationName } from '../api/contract.ts';
import { command, table, time, type ClientCommand } from './kit.ts';

type Snapshot = OperationOutput<'sparkplug.state'>;

/** One line per edge node and device: where it is, whether it is alive, and what is wrong. */
export function showSparkplug(state: Snapshot): string {
  const rows: Array<Array<string | number>> = [];
  for (const n of state.nodes) {
    const problems = [
      n.rebirthNeeded ? `rebirth needed (${n.rebirthNeeded.reason})` : '',
      n.seqGaps > 0 ? `${n.seqGaps} seq gap(s)` : '',
      n.bdSeqGaps > 0 ? `${n.bdSeqGaps} bdSeq gap(s)` : '',
      n.undecodable > 0 ? `${n.undecodable} undecodable` : '',
    ].filter(Boolean);
    rows.push([
      n.group,
      n.node,
      '',
      n.state,
      n.bdSeq ?? '-',
      n.metricCount,
      time(n.lastMessageAt),
      problems.join(', '),
    ]);
    for (const d of n.devices)
      rows.push([n.group, n.node, d.device, d.state, '', d.metricCount, time(d.lastMessageAt), '']);
  }
  const { totals } = state;
  return [
    table(['GROUP', 'NODE', 'DEVICE', 'STATE', 'BDSEQ', 'METRICS', 'LAST MESSAGE', 'PROBLEMS'], rows),
    `${totals.nodesOnline}/${totals.nodes} node(s) online · ${totals.devicesOnline}/${totals.devices} device(s) online · ` +
      `${totals.messages} message(s) · ${totals.undecodable} undecodable`,
  ].join('\n');
}

/** The Sparkplug commands. */
export const sparkplugCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({ words: ['sparkplug', 'state'], op: 'sparkplug.state', human: showSparkplug }),
  command({
    words: ['sparkplug', 'rebirth'],
    op: 'sparkplug.rebirth',
    args: ['<group>', '<node>'],
    human: (out) => `Asked for a rebirth: NCMD ${out.topic} (message ${out.id})`,
  }),
];
