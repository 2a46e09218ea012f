import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { tempDir } from '../helpers/engine.ts';
import { kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { TestEndpoint } from '../integration/push-helpers.ts';

// DESIGN.md durability contract, STYLE.md §13: the broker runs in a child process and pushes to
// an endpoint the test runs; the child is SIGKILLed while requests are in flight, then started
// again on the same data directory. Every message must reach the endpoint; a repeat is allowed
// only for a message that was in flight at the kill (at most `concurrency` of them).

const total = 600;
/** Requests at once: at most this many messages can be repeated per kill. */
const pushConcurrency = 4;

test('kill -9 of Sluice while pushes are in flight: after restart every message is delivered, repeats only for those in flight', async (t) => {
  const { dir, cleanup } = tempDir('sluice-push-crash-');
  const endpoint = new TestEndpoint();
  await endpoint.up();
  const accepted = new Map<string, number>();
  /** Bodies that arrived marked as a redelivery (`Sluice-Redelivered: true`). */
  const markedRedelivered = new Set<string>();
  endpoint.behave = ({ body, headers }) => {
    accepted.set(body, (accepted.get(body) ?? 0) + 1);
    if (headers['sluice-redelivered'] === 'true') markedRedelivered.add(body);
    return { kind: 'status', status: 200 };
  };
  let child: ChildProcess | null = null;
  try {
    const first = await startChildScript(
      'test/crash/push-child.ts',
      [dir, endpoint.url, String(total), String(pushConcurrency)],
      {
        what: 'push child ready',
        timeoutMs: 30_000,
      },
    );
    child = first.child;
    await waitFor(() => accepted.size >= total / 3, {
      what: () => `${total / 3} delivered before the kill (${accepted.size})`,
      timeoutMs: 60_000,
      intervalMs: 1,
    });
    await kill9(child);
    const atKill = accepted.size;
    assert.ok(atKill < total, 'the kill came while deliveries were still going on');

    const second = await startChildScript(
      'test/crash/push-child.ts',
      [dir, endpoint.url, '0', String(pushConcurrency)],
      {
        what: 'push child ready again',
        timeoutMs: 30_000,
      },
    );
    child = second.child;
    await waitFor(() => accepted.size >= total, {
      what: () => `${total} delivered after restart (${accepted.size})`,
      timeoutMs: 60_000,
    });
    const missing = Array.from({ length: total }, (_, i) => `p${i}`).filter((body) => !accepted.has(body));
    assert.deepEqual(missing, [], 'none lost');
    const repeated = [...accepted].filter(([, n]) => n > 1);
    t.diagnostic(`${atKill} delivered before the kill; ${repeated.length} repeated after restart`);
    assert.ok(
      repeated.length <= pushConcurrency,
      `repeats (${repeated.map(([b]) => b).join(' ')}) only for the ${pushConcurrency} that could be in flight`,
    );
    assert.ok(
      repeated.every(([, n]) => n === 2),
      'each repeated at most once',
    );
  } finally {
    if (child) await kill9(child);
    await endpoint.down();
    cleanup();
  }
});
