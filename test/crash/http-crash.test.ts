// kill -9 durability over HTTP (DESIGN.md: durability contract; STYLE.md §13): publishers count
// every POST the broker answered 201; the broker is SIGKILLed mid-stream, restarted on the same
// directory, and in the end every message answered 201 must be in the queue.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { createHttpClient } from '../../core/api/client.ts';
import { tempDir } from '../helpers/engine.ts';
import { freePort, kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const rounds = 20;
const publishers = 3;

async function startBroker(dir: string, port: number): Promise<ChildProcess> {
  const { child } = await startChildScript('test/crash/http-child-broker.ts', [dir, String(port)], {
    what: 'child broker ready',
    timeoutMs: 20_000,
  });
  return child;
}

/** A publisher keeping 10 POSTs in flight until `stop()`; records each body answered 201. */
function publish(url: string, name: string, created: Set<string>): { stop(): Promise<void> } {
  const client = createHttpClient(url);
  let stopped = false;
  let seq = 0;
  const worker = async () => {
    while (!stopped) {
      const body = `${name}-${seq++}`;
      try {
        await client.call('topics.publish', { topic: `crash/${name}`, payload: body });
        created.add(body);
      } catch {
        return; // the broker is gone: this round is over
      }
    }
  };
  const workers = Array.from({ length: 10 }, worker);
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

test('every HTTP publish answered 201 survives repeated kill -9 of the broker', async (t) => {
  const { dir, cleanup } = tempDir('sluice-http-crash-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const created = new Set<string>();
  try {
    for (let round = 0; round < rounds; round++) {
      const broker = await startBroker(dir, port);
      const before = created.size;
      const running = Array.from({ length: publishers }, (_, p) => publish(url, `r${round}p${p}`, created));
      await waitFor(() => created.size > before + 50 + round * 3, { what: '201s this round', timeoutMs: 20_000 });
      await kill9(broker);
      await Promise.all(running.map((publisher) => publisher.stop()));
    }
    const broker = await startBroker(dir, port);
    const client = createHttpClient(url);
    const stored = new Set<string>();
    for (let after: string | undefined; ;) {
      const page = await client.call('queues.browse', {
        name: 'http-crash',
        limit: 1000,
        ...(after && { afterEntryId: after }),
      });
      for (const entry of page.messages) stored.add(entry.message.payload);
      if (page.nextAfterEntryId === null) break;
      after = page.nextAfterEntryId;
    }
    const lost = [...created].filter((body) => !stored.has(body));
    assert.deepEqual(lost, []);
    t.diagnostic(`${rounds} kill -9 rounds, ${created.size} answered 201, ${stored.size} stored`);
    await kill9(broker);
  } finally {
    cleanup();
  }
});
