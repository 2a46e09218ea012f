/**
 * Alarms for the Overview, derived from state the broker reports: a queue near its limit, a
 * growing DMQ, and the alarms the broker raises for its bridges. Pure, so the thresholds are
 * unit-tested.
 */
import type { WireQueueInfo } from '../../../core/api/contract.ts';
import type { Alarm } from './alarm.ts';
import { bridgeAlarms, type WireBridge } from './bridges.ts';

export type { Alarm } from './alarm.ts';

/** How full a queue may get before it is an alarm (share of its message or byte limit). */
export const nearLimitShare = 0.8;
export const atLimitShare = 0.95;

/** A queue's fill: the larger of its message and byte share of its limits. */
export function fillShare(queue: Pick<WireQueueInfo, 'depth' | 'bytes' | 'config'>): number {
  return Math.max(queue.depth / queue.config.maxDepthMessages, queue.bytes / queue.config.maxDepthBytes);
}

/** A dead-message total seen at a time. */
export interface DeadPoint {
  readonly at: number;
  readonly total: number;
}

/**
 * Alarms, most severe first. `deadHistory` is the DMQ total over the last minutes, oldest first.
 * A bridge's backlog queue that raises `backlog-high` is named once, by the bridge's alarm.
 */
export function computeAlarms(
  queues: readonly WireQueueInfo[],
  deadHistory: readonly DeadPoint[],
  bridges: readonly WireBridge[] = [],
  now = Date.now(),
): Alarm[] {
  const alarms: Alarm[] = bridgeAlarms(bridges, now);
  const namedByBridge = new Set(bridges.filter((b) => b.alarms.includes('backlog-high')).map((b) => b.queue));
  for (const queue of queues) {
    if (namedByBridge.has(queue.name)) continue;
    const share = fillShare(queue);
    if (share >= nearLimitShare)
      alarms.push({
        severity: share >= atLimitShare ? 'danger' : 'warn',
        text: `Queue ${queue.name} is ${Math.round(share * 100)}% full (${queue.config.overflow} when full)`,
        view: 'queues',
      });
  }
  const first = deadHistory[0];
  const last = deadHistory.at(-1);
  if (first && last && last.total > first.total) {
    const added = last.total - first.total;
    const minutes = Math.max(1, Math.round((last.at - first.at) / 60_000));
    alarms.push({
      severity: 'warn',
      text: `Dead messages growing: +${added} in the last ${minutes} min (${last.total} in total)`,
      view: 'dead',
    });
  }
  return alarms.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'danger' ? -1 : 1));
}
