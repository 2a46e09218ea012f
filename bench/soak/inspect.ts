/** What the soak reads back from the broker for its account: queue depths, queued and dead message ids. */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSoakPayload } from './ledger.ts';
import type { apiClient } from './workload.ts';

/** Waits until every queue of `queues` is empty, or `timeoutMs`. */
export async function drain(api: ReturnType<typeof apiClient>, queues: string[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const stats = await api.call('stats.get', {}).catch(() => undefined);
    if (stats && queues.every((name) => (stats.queues.find((queue) => queue.name === name)?.depth ?? 0) === 0)) return;
    await sleep(500);
  }
}

/** The soak ids of the messages waiting in `queue`. */
export async function queuedIds(api: ReturnType<typeof apiClient>, queue: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await api
      .call('queues.browse', { name: queue, limit: 1000, ...(after && { afterEntryId: after }) })
      .catch(() => undefined);
    if (!page) return ids;
    for (const entry of page.messages) {
      const parsed = parseSoakPayload(text(entry.message.payload, entry.message.payloadEncoding));
      if (parsed) ids.add(parsed.id);
    }
    if (page.nextAfterEntryId === null) return ids;
    after = page.nextAfterEntryId;
  }
}

/** The soak ids of the dead messages of `queue`. */
export async function deadIdsOf(api: ReturnType<typeof apiClient>, queue: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const dead of api.stream('dmq.export', { queue })) {
    const parsed = parseSoakPayload(text(dead.message.payload, dead.message.payloadEncoding));
    if (parsed) ids.add(parsed.id);
  }
  return ids;
}

const text = (payload: string, encoding: string) =>
  encoding === 'base64' ? Buffer.from(payload, 'base64').toString('utf8') : payload;
