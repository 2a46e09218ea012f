/** What the tray says about the broker: a tooltip and a few menu lines, from stats.get. */
import type { OperationOutput } from '../core/api/contract.ts';

/** The tray's text. */
export interface TrayStatus {
  readonly tooltip: string;
  readonly lines: readonly string[];
}

/** Summarises the broker for the tray; dead messages are called out because they need action. */
export function trayStatus(stats: OperationOutput<'stats.get'>, httpUrl: string): TrayStatus {
  const { rates, dead, queues } = stats;
  const headline = dead.total > 0 ? `Sluice: running · ${dead.total} dead message(s)` : 'Sluice: running';
  const lines = [
    headline,
    `In ${rates.inPerSec.toFixed(0)}/s · out ${rates.outPerSec.toFixed(0)}/s`,
    `${queues.length} queue(s) · ${queues.reduce((sum, q) => sum + q.depth, 0)} message(s) waiting`,
    `API and browser UI: ${httpUrl}`,
  ];
  return { tooltip: lines.slice(0, 2).join('\n'), lines };
}
