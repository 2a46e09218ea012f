/** Queues as the UI shows them: configuration from queues.list, live numbers from the pushed stats. */
import type { WireQueueInfo, WireStats } from '../../../core/api/contract.ts';

/** Overlays each queue's pushed depth, in-flight, consumers, counters and rates on its listing. */
export function withLiveState(queues: readonly WireQueueInfo[], stats: WireStats | undefined): WireQueueInfo[] {
  if (!stats) return [...queues];
  const live = new Map(stats.queues.map((q) => [q.name, q]));
  return queues.map((queue) => {
    const state = live.get(queue.name);
    return state ? { ...queue, ...state } : queue;
  });
}
