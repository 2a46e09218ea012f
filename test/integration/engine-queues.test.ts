import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { SluiceError } from '../../core/errors.ts';
import { collectingConsumer } from '../helpers/collect.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
let h: Harness;
beforeEach(async () => {
  h = await openTestEngine();
});
afterEach(async () => {
  await h.cleanup();
});

const isCode = (code: string) => (e: unknown) => e instanceof SluiceError && e.code === code;

describe('publish and route', () => {
  test('a publish is in the store when its acknowledgement resolves', async () => {
    await h.engine.createQueue('q', { subscriptions: ['plant/#'] });
    const receipt = await h.engine.publish({ topic: 'plant/line1/temp', payload: '21.5' });
    assert.deepEqual(receipt.queues, ['q']);
    assert.equal(h.engine.store.getMessage(Number(receipt.id))?.payload.toString(), '21.5');
    assert.equal(h.engine.browseQueue('q').length, 1);
  });

  test('a message matching two filters of one queue is enqueued once', async () => {
    await h.engine.createQueue('q', { subscriptions: ['a/+', 'a/#'] });
    await h.engine.publish({ topic: 'a/b', payload: 'x' });
    assert.equal(h.engine.getQueue('q').depth, 1);
  });

  test('a publish to $queue/<name> goes to that queue alone, without a subscription', async () => {
    await h.engine.createQueue('orders');
    await h.engine.createQueue('everything', { subscriptions: ['#'] });
    const receipt = await h.engine.publish({ topic: '$queue/orders', payload: 'direct' });
    assert.deepEqual(receipt.queues, ['orders']);
    assert.equal(h.engine.getQueue('everything').depth, 0, "'#' does not match a $ topic [MQTT-4.7.2-1]");
    await assert.rejects(h.engine.publish({ topic: '$queue/missing', payload: 'x' }), isCode('queue-not-found'));
  });

  test('a message nobody subscribed to is still appended to the log for replay', async () => {
    const receipt = await h.engine.publish({ topic: 'nobody/listens', payload: 'x' });
    assert.deepEqual(receipt.queues, []);
    assert.ok(h.engine.store.getMessage(Number(receipt.id)));
  });

  test('concurrent publishes share group commits', async () => {
    await h.engine.createQueue('q', { subscriptions: ['#'] });
    const before = h.engine.counters.commits;
    await Promise.all(Array.from({ length: 500 }, (_, i) => h.engine.publish({ topic: 't', payload: String(i) })));
    assert.ok(
      h.engine.counters.commits - before < 50,
      `500 publishes took ${h.engine.counters.commits - before} commits`,
    );
  });

  test('invalid topics, oversized payloads and bad priorities are refused with precise codes', async () => {
    await assert.rejects(h.engine.publish({ topic: 'a/+', payload: 'x' }), isCode('invalid-topic'));
    await assert.rejects(
      h.engine.publish({ topic: 'a', payload: Buffer.alloc(2 * 1024 * 1024) }),
      isCode('payload-too-large'),
    );
    await assert.rejects(h.engine.publish({ topic: 'a', payload: 'x', priority: 12 }), isCode('invalid-input'));
  });

  test('live listeners see messages only after they are durable, by topic filter', async () => {
    const seen: string[] = [];
    h.engine.listen('sensors/+/temp', (m) => {
      assert.ok(h.engine.store.getMessage(Number(m.id)), 'message is stored before listeners run');
      seen.push(m.topic);
    });
    await h.engine.publish({ topic: 'sensors/1/temp', payload: '1' });
    await h.engine.publish({ topic: 'sensors/1/rpm', payload: '2' });
    assert.deepEqual(seen, ['sensors/1/temp']);
  });
});

describe('queue management', () => {
  test('invalid queue names and configs are refused with clear errors', async () => {
    await assert.rejects(h.engine.createQueue('has space'), isCode('invalid-queue-name'));
    await assert.rejects(h.engine.createQueue('q', { subscriptions: ['a/#/b'] }), (e: unknown) => {
      return e instanceof SluiceError && e.code === 'invalid-input' && e.detail.includes('subscriptions.0');
    });
    await assert.rejects(h.engine.createQueue('q', { maxRedelivery: -1 }), isCode('invalid-input'));
  });

  test('creating a queue twice is refused; ensureQueue is idempotent', async () => {
    await h.engine.createQueue('q');
    await assert.rejects(h.engine.createQueue('q'), isCode('queue-exists'));
    assert.equal((await h.engine.ensureQueue('q')).name, 'q');
  });

  test('updating subscriptions re-routes new messages', async () => {
    await h.engine.createQueue('q', { subscriptions: ['a'] });
    await h.engine.updateQueue('q', { subscriptions: ['b'] });
    await h.engine.publish({ topic: 'a', payload: '1' });
    await h.engine.publish({ topic: 'b', payload: '2' });
    assert.deepEqual(
      h.engine.browseQueue('q').map((m) => m.message.topic),
      ['b'],
    );
  });

  test('a queue with consumers is deleted only with force, which detaches them', async () => {
    await h.engine.createQueue('q');
    let closedReason = '';
    h.engine.consume('q', { onDelivery: () => {}, onClosed: (r) => (closedReason = r) });
    await assert.rejects(h.engine.deleteQueue('q'), isCode('queue-in-use'));
    await h.engine.deleteQueue('q', { force: true });
    assert.match(closedReason, /deleted/);
    assert.throws(() => h.engine.getQueue('q'), isCode('queue-not-found'));
  });

  test('purge removes ready entries and leaves in-flight ones with their consumer', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    for (let i = 0; i < 5; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    const { deliveries } = collectingConsumer(h.engine, 'q', { flow: { mode: 'prefetch', prefetch: 2 } });
    await waitFor(() => deliveries.length === 2);
    assert.equal(await h.engine.purgeQueue('q'), 3);
    assert.equal(h.engine.getQueue('q').depth, 2);
  });
});

describe('consumers', () => {
  test('messages are delivered in order and ack removes them', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    for (let i = 0; i < 20; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => deliveries.length === 20);
    assert.deepEqual(
      deliveries.map((d) => d.message.payload.toString()),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    await Promise.all(deliveries.map((d) => consumer.ack(d.deliveryId)));
    assert.equal(h.engine.getQueue('q').depth, 0);
    assert.equal(h.engine.getQueue('q').counters.acked, 20);
  });

  test('prefetch bounds the unsettled deliveries a consumer holds', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    for (let i = 0; i < 10; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q', { flow: { mode: 'prefetch', prefetch: 3 } });
    await waitFor(() => deliveries.length === 3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deliveries.length, 3);
    await consumer.ack(deliveries[0]!.deliveryId);
    await waitFor(() => deliveries.length === 4);
  });

  test('credit mode delivers only what was granted', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    for (let i = 0; i < 5; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q', { flow: { mode: 'credit' } });
    await h.engine.publish({ topic: 't', payload: 'more' });
    assert.equal(deliveries.length, 0);
    consumer.addCredit(2);
    await waitFor(() => deliveries.length === 2);
    await consumer.ack(deliveries[0]!.deliveryId);
    await h.engine.publish({ topic: 't', payload: 'even more' });
    assert.equal(deliveries.length, 2, 'acks do not grant credit in credit mode');
  });

  test('a released message is redelivered first, without counting the attempt', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'a' });
    await h.engine.publish({ topic: 't', payload: 'b' });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q', { flow: { mode: 'prefetch', prefetch: 1 } });
    await waitFor(() => deliveries.length === 1);
    await consumer.release(deliveries[0]!.deliveryId);
    await waitFor(() => deliveries.length === 2);
    assert.equal(deliveries[1]!.message.payload.toString(), 'a');
    assert.equal(deliveries[1]!.deliveryCount, 1);
  });

  test('non-exclusive queues share work round robin between consumers', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    const a = collectingConsumer(h.engine, 'q');
    const b = collectingConsumer(h.engine, 'q');
    for (let i = 0; i < 10; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    await waitFor(() => a.deliveries.length + b.deliveries.length === 10);
    assert.ok(a.deliveries.length >= 3 && b.deliveries.length >= 3, `${a.deliveries.length}/${b.deliveries.length}`);
  });

  test('an exclusive queue delivers to one consumer; the standby takes over when it leaves', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], accessType: 'exclusive' });
    const first = collectingConsumer(h.engine, 'q');
    const standby = collectingConsumer(h.engine, 'q');
    for (let i = 0; i < 5; i++) await h.engine.publish({ topic: 't', payload: String(i) });
    await waitFor(() => first.deliveries.length === 5);
    assert.equal(standby.deliveries.length, 0);
    await first.consumer.close();
    await waitFor(() => standby.deliveries.length === 5);
    assert.ok(
      standby.deliveries.every((d) => d.deliveryCount === 2),
      'the vanished consumer counted as one attempt',
    );
  });

  test('settling an unknown delivery is refused with unknown-delivery', async () => {
    await h.engine.createQueue('q');
    const { consumer } = collectingConsumer(h.engine, 'q');
    await assert.rejects(consumer.ack(12345), isCode('unknown-delivery'));
  });
});

describe('overflow policies', () => {
  test('reject-publisher refuses the publish with queue-full and stores nothing', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxDepthMessages: 2 });
    await h.engine.publish({ topic: 't', payload: '1' });
    await h.engine.publish({ topic: 't', payload: '2' });
    await assert.rejects(h.engine.publish({ topic: 't', payload: '3' }), isCode('queue-full'));
    assert.equal(h.engine.store.logBounds().lastId, 2);
    assert.equal(h.engine.getQueue('q').depth, 2);
  });

  test('drop-oldest discards the oldest ready message and counts it', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxDepthMessages: 2, overflow: 'drop-oldest' });
    for (const p of ['1', '2', '3']) await h.engine.publish({ topic: 't', payload: p });
    assert.deepEqual(
      h.engine.browseQueue('q').map((m) => m.message.payload.toString()),
      ['2', '3'],
    );
    assert.equal(h.engine.getQueue('q').counters.discarded, 1);
    assert.equal(h.engine.deadMessages.list().length, 0);
  });

  test('dead-letter sends the overflowing message to the DMQ with reason overflow', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxDepthBytes: 100, overflow: 'dead-letter' });
    await h.engine.publish({ topic: 't', payload: Buffer.alloc(60) });
    await h.engine.publish({ topic: 't', payload: Buffer.alloc(60) });
    const dead = h.engine.deadMessages.list();
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.reason, 'overflow');
    assert.equal(dead[0]!.queue, 'q');
    assert.equal(h.engine.getQueue('q').depth, 1);
  });
});

describe('restart', () => {
  test('in-flight entries return to ready after a restart with their delivery count kept', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'x' });
    const first = collectingConsumer(h.engine, 'q');
    await waitFor(() => first.deliveries.length === 1);
    const engine = await h.reopen();
    const again = collectingConsumer(engine, 'q');
    await waitFor(() => again.deliveries.length === 1);
    assert.equal(again.deliveries[0]!.deliveryCount, 2);
    assert.equal(again.deliveries[0]!.message.id, first.deliveries[0]!.message.id);
  });

  test('a backlog larger than the in-memory buffer is delivered completely and in order after a restart', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await Promise.all(Array.from({ length: 2000 }, (_, i) => h.engine.publish({ topic: 't', payload: String(i) })));
    const engine = await h.reopen();
    const { consumer, deliveries } = collectingConsumer(engine, 'q', { flow: { mode: 'prefetch', prefetch: 1000 } });
    const acked = new Set<number>();
    while (acked.size < 2000) {
      await waitFor(() => deliveries.length > acked.size);
      await Promise.all(
        deliveries
          .filter((d) => !acked.has(d.deliveryId))
          .map((d) => (acked.add(d.deliveryId), consumer.ack(d.deliveryId))),
      );
    }
    const payloads = deliveries.map((d) => Number(d.message.payload.toString()));
    assert.deepEqual(
      [...payloads].sort((a, b) => a - b),
      payloads,
    );
    assert.equal(engine.getQueue('q').depth, 0);
  });
});
