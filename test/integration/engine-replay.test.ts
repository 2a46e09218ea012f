import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SluiceError } from '../../core/errors.ts';
import { collectingConsumer } from '../helpers/collect.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
let h: Harness;
beforeEach(async () => {
  h = await openTestEngine({ retention: { maxAgeMs: null, maxLogBytes: 1024 * 1024 * 1024, intervalMs: 60_000 } });
});
afterEach(async () => {
  await h.cleanup();
});

const isCode = (code: string) => (e: unknown) => e instanceof SluiceError && e.code === code;

async function publishSeries(n: number, topic = (i: number) => `line/${i % 2 ? 'b' : 'a'}/event`) {
  const receipts = [];
  for (let i = 0; i < n; i++) receipts.push(await h.engine.publish({ topic: topic(i), payload: String(i) }));
  return receipts;
}

describe('replay', () => {
  test('replay from the beginning copies the whole log, marked as replayed, into a new queue', async () => {
    await publishSeries(10);
    const started = await h.engine.replays.start({
      target: { queue: 'new-mes', create: {} },
      start: { kind: 'beginning' },
    });
    const done = await h.engine.replays.finished(started.id);
    assert.equal(done.state, 'completed');
    assert.equal(done.replayed, 10);
    assert.equal(done.total, 10);
    const { deliveries } = collectingConsumer(h.engine, 'new-mes');
    await waitFor(() => deliveries.length === 10);
    assert.deepEqual(
      deliveries.map((d) => d.message.payload.toString()),
      Array.from({ length: 10 }, (_, i) => String(i)),
    );
    assert.ok(deliveries.every((d) => d.replayed && d.message.headers['sluice-replayed'] === 'true'));
    assert.equal(deliveries[3]!.message.headers['sluice-original-id'], deliveries[3]!.message.id);
  });

  test('replay from a timestamp starts at the first message accepted at or after it', async () => {
    await publishSeries(5);
    await waitFor(() => Date.now() > h.engine.log.lastTimestamp + 2);
    const from = Date.now();
    await publishSeries(3, () => 'late/event');
    const started = await h.engine.replays.start({
      target: { queue: 'analytics', create: {} },
      start: { kind: 'timestamp', at: from },
    });
    const done = await h.engine.replays.finished(started.id);
    assert.equal(done.replayed, 3);
    assert.ok(h.engine.browseQueue('analytics').every((m) => m.message.topic === 'late/event'));
  });

  test('replay from a message id with an end id and a topic filter replays exactly that slice', async () => {
    const receipts = await publishSeries(10);
    const started = await h.engine.replays.start({
      target: { queue: 'slice', create: {} },
      start: { kind: 'message-id', id: receipts[2]!.id },
      end: { kind: 'message-id', id: receipts[7]!.id },
      topicFilter: 'line/a/#',
    });
    const done = await h.engine.replays.finished(started.id);
    assert.equal(done.scanned, 6);
    assert.deepEqual(
      h.engine.browseQueue('slice').map((m) => m.message.payload.toString()),
      ['2', '4', '6'],
    );
  });

  test('replay into an existing queue goes only there, not to other subscribers', async () => {
    await h.engine.createQueue('live', { subscriptions: ['#'] });
    await h.engine.createQueue('target');
    await publishSeries(4);
    const started = await h.engine.replays.start({ target: { queue: 'target' }, start: { kind: 'beginning' } });
    await h.engine.replays.finished(started.id);
    assert.equal(h.engine.getQueue('live').depth, 4);
    assert.equal(h.engine.getQueue('target').depth, 4);
  });

  test('a replay into a missing queue without create is refused with queue-not-found', async () => {
    await assert.rejects(
      h.engine.replays.start({ target: { queue: 'nope' }, start: { kind: 'beginning' } }),
      isCode('queue-not-found'),
    );
  });

  test('a malformed replay request is refused with invalid-input naming the field', async () => {
    await assert.rejects(
      h.engine.replays.start({ target: { queue: 'x' }, start: { kind: 'yesterday' } }),
      (e: unknown) => e instanceof SluiceError && e.code === 'invalid-input' && e.detail.includes('start'),
    );
  });

  test('a full target queue pauses the replay until a consumer makes room', async () => {
    await publishSeries(30);
    await h.engine.createQueue('small', { maxDepthMessages: 10 });
    const started = await h.engine.replays.start({ target: { queue: 'small' }, start: { kind: 'beginning' } });
    await waitFor(() => h.engine.replays.get(started.id).waiting);
    assert.equal(h.engine.getQueue('small').depth, 10);
    const { consumer } = collectingConsumer(h.engine, 'small', {
      onDelivery: (d) => void consumer.ack(d.deliveryId),
    });
    const done = await h.engine.replays.finished(started.id);
    assert.equal(done.replayed, 30);
  });

  test('a cancelled replay stops and keeps what it already enqueued', async () => {
    await publishSeries(30);
    await h.engine.createQueue('slow', { maxDepthMessages: 5 });
    const started = await h.engine.replays.start({ target: { queue: 'slow' }, start: { kind: 'beginning' } });
    await waitFor(() => h.engine.replays.get(started.id).waiting);
    const cancelled = await h.engine.replays.cancel(started.id);
    assert.equal(cancelled.state, 'cancelled');
    assert.equal(h.engine.getQueue('slow').depth, 5);
  });

  test('an interrupted replay resumes after a restart and enqueues each message exactly once', async () => {
    await publishSeries(40);
    await h.engine.createQueue('resume', { maxDepthMessages: 15 });
    const started = await h.engine.replays.start({ target: { queue: 'resume' }, start: { kind: 'beginning' } });
    await waitFor(() => h.engine.replays.get(started.id).waiting);
    const engine = await h.reopen();
    assert.equal(engine.replays.get(started.id).state, 'running');
    const { consumer } = collectingConsumer(engine, 'resume', { onDelivery: (d) => void consumer.ack(d.deliveryId) });
    const done = await engine.replays.finished(started.id);
    assert.equal(done.state, 'completed');
    assert.equal(done.replayed, 40);
    assert.equal(engine.getQueue('resume').counters.enqueued, 40);
  });
});

describe('retention', () => {
  test('retention by size advances the log start and prunes unreferenced messages', async () => {
    await h.cleanup();
    h = await openTestEngine({ retention: { maxAgeMs: null, maxLogBytes: 50 * 120, intervalMs: 60_000 } });
    await h.engine.createQueue('holds', { subscriptions: ['keep/#'] });
    for (let i = 0; i < 100; i++)
      await h.engine.publish({ topic: i === 0 ? 'keep/me' : 'drop/me', payload: Buffer.alloc(100) });
    const retention = (
      h.engine as unknown as { retention: { run(now?: number): Promise<{ startId: number; deleted: number }> } }
    ).retention;
    const { startId, deleted } = await retention.run();
    assert.ok(startId > 1 && h.engine.log.bytes <= 50 * 120, `start ${startId}, bytes ${h.engine.log.bytes}`);
    assert.equal(deleted, startId - 2, 'everything before the start except the message a queue holds');
    assert.ok(h.engine.store.getMessage(1), 'a message still queued is kept');
  });

  test('a replay from before retention is refused with a clear answer naming where the log now starts', async () => {
    await h.cleanup();
    h = await openTestEngine({ retention: { maxAgeMs: 1, maxLogBytes: 1024 * 1024, intervalMs: 60_000 } });
    const receipts = await publishSeries(5);
    const retention = (h.engine as unknown as { retention: { run(now?: number): Promise<unknown> } }).retention;
    await waitFor(() => Date.now() > h.engine.log.lastTimestamp + 5);
    await h.engine.publish({ topic: 'fresh', payload: 'x' });
    await retention.run(h.engine.log.lastTimestamp);
    assert.equal(h.engine.log.startId, 6);
    await assert.rejects(
      h.engine.replays.start({
        target: { queue: 'r', create: {} },
        start: { kind: 'message-id', id: receipts[0]!.id },
      }),
      (e: unknown) =>
        e instanceof SluiceError && e.code === 'replay-before-retention' && /starts at message 6/.test(e.detail),
    );
    await assert.rejects(
      h.engine.replays.start({ target: { queue: 'r', create: {} }, start: { kind: 'timestamp', at: 0 } }),
      isCode('replay-before-retention'),
    );
    const ok = await h.engine.replays.start({ target: { queue: 'r', create: {} }, start: { kind: 'beginning' } });
    assert.equal((await h.engine.replays.finished(ok.id)).replayed, 1);
  });

  test("retention's log start survives a restart", async () => {
    await h.cleanup();
    h = await openTestEngine({ retention: { maxAgeMs: null, maxLogBytes: 10, intervalMs: 60_000 } });
    await publishSeries(5);
    const retention = (h.engine as unknown as { retention: { run(): Promise<unknown> } }).retention;
    await retention.run();
    const start = h.engine.log.startId;
    const engine = await h.reopen();
    assert.equal(engine.log.startId, start);
  });
});

describe('a refused replay leaves nothing behind', () => {
  test('a start after the end of the log is refused and creates no target queue, so live messages go nowhere', async () => {
    await publishSeries(3);
    await assert.rejects(
      h.engine.replays.start({
        target: { queue: 'orphan', create: { subscriptions: ['line/#'] } },
        start: { kind: 'message-id', id: '999' },
      }),
      isCode('message-not-found'),
    );
    assert.equal(h.engine.queueByName('orphan'), undefined);
    const receipt = await h.engine.publish({ topic: 'line/a/event', payload: 'live' });
    assert.deepEqual(receipt.queues, []);
    assert.deepEqual(h.engine.replays.list(), []);
  });

  test('a start before retention is refused and creates no target queue', async () => {
    await h.cleanup();
    h = await openTestEngine({ retention: { maxAgeMs: 1, maxLogBytes: 1024 * 1024, intervalMs: 60_000 } });
    await publishSeries(3);
    await waitFor(() => Date.now() > h.engine.log.lastTimestamp + 5);
    await h.engine.publish({ topic: 'fresh', payload: 'x' });
    const retention = (h.engine as unknown as { retention: { run(now?: number): Promise<unknown> } }).retention;
    await retention.run(h.engine.log.lastTimestamp);
    await assert.rejects(
      h.engine.replays.start({
        target: { queue: 'orphan', create: { subscriptions: ['#'] } },
        start: { kind: 'message-id', id: '1' },
      }),
      isCode('replay-before-retention'),
    );
    assert.equal(h.engine.queueByName('orphan'), undefined);
  });

  test('message id 0 is refused as bad input: it never existed, it was not pruned', async () => {
    await publishSeries(2);
    await assert.rejects(
      h.engine.replays.start({ target: { queue: 'r', create: {} }, start: { kind: 'message-id', id: '0' } }),
      (e: unknown) => e instanceof SluiceError && e.code === 'invalid-input' && /ids start at 1/.test(e.detail),
    );
    assert.equal(h.engine.queueByName('r'), undefined);
  });

  test('a bad start point is reported before a missing target queue', async () => {
    await publishSeries(2);
    await assert.rejects(
      h.engine.replays.start({ target: { queue: 'missing' }, start: { kind: 'message-id', id: '50' } }),
      isCode('message-not-found'),
    );
  });
});

describe('replay progress', () => {
  test("a filtered replay's total counts the matching messages, so a completed replay has replayed all of it", async () => {
    await publishSeries(10); // 5 on line/a, 5 on line/b
    const started = await h.engine.replays.start({
      target: { queue: 'only-b', create: {} },
      start: { kind: 'beginning' },
      topicFilter: 'line/b/#',
    });
    assert.equal(started.total, 5);
    assert.equal(started.inRange, 10);
    const done = await h.engine.replays.finished(started.id);
    assert.equal(done.state, 'completed');
    assert.equal(done.replayed, done.total);
    assert.equal(done.scanned, done.inRange);
  });

  test("a replay's total and range survive a restart", async () => {
    await publishSeries(4);
    const started = await h.engine.replays.start({
      target: { queue: 'a-only', create: {} },
      start: { kind: 'beginning' },
      topicFilter: 'line/a/#',
    });
    await h.engine.replays.finished(started.id);
    await h.reopen();
    const [again] = h.engine.replays.list();
    assert.deepEqual([again!.replayed, again!.total, again!.scanned, again!.inRange], [2, 2, 4, 4]);
  });
});
