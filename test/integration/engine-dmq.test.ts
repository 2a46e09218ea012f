import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { collectingConsumer } from '../helpers/collect.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
let h: Harness;
beforeEach(async () => {
  h = await openTestEngine({ expiryIntervalMs: 20 });
});
afterEach(async () => {
  await h.cleanup();
});

describe('dead message triggers', () => {
  test('a consumer reject dead-letters the message with the original payload, headers and error text', async () => {
    await h.engine.createQueue('orders', { subscriptions: ['erp/orders'] });
    await h.engine.publish({
      topic: 'erp/orders',
      payload: '{"order":1}',
      contentType: 'application/json',
      headers: { plant: 'A' },
      correlationId: 'c-1',
    });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'orders', { label: 'mes-1' });
    await waitFor(() => deliveries.length === 1);
    await consumer.reject(deliveries[0]!.deliveryId, 'schema v2 not supported');
    const [dead] = h.engine.deadMessages.list();
    assert.ok(dead);
    assert.equal(dead.reason, 'rejected');
    assert.equal(dead.dmq, '#DMQ');
    assert.equal(dead.queue, 'orders');
    assert.equal(dead.consumer, 'mes-1');
    assert.equal(dead.error, 'schema v2 not supported');
    assert.equal(dead.deliveryCount, 1);
    assert.ok(dead.firstDeliveredAt !== null && dead.lastDeliveredAt !== null && dead.deadAt >= dead.lastDeliveredAt);
    assert.equal(dead.message.payload.toString(), '{"order":1}');
    assert.deepEqual(dead.message.headers, { plant: 'A' });
    assert.equal(dead.message.contentType, 'application/json');
    assert.equal(dead.message.correlationId, 'c-1');
    assert.equal(h.engine.getQueue('orders').depth, 0);
  });

  test('a message whose TTL expires while it waits goes to the DMQ with reason ttl-expired', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'short-lived', ttlMs: 30 });
    await waitFor(() => h.engine.deadMessages.list().length === 1, { what: 'expiry sweep' });
    assert.equal(h.engine.deadMessages.list()[0]!.reason, 'ttl-expired');
    assert.equal(h.engine.getQueue('q').depth, 0);
    assert.equal(h.engine.getQueue('q').counters.expired, 1);
  });

  test('a message released back to its queue and then expired keeps its delivery times in the DMQ', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'released', ttlMs: 300 });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => deliveries.length === 1);
    // Detaching fails the held delivery back to ready: it waits in the queue again, in memory, until its TTL.
    await consumer.close();
    await waitFor(() => h.engine.deadMessages.list().length === 1, { what: 'expiry sweep' });
    const [dead] = h.engine.deadMessages.list();
    assert.equal(dead!.reason, 'ttl-expired');
    assert.ok(dead!.firstDeliveredAt !== null, 'first delivery time kept');
    assert.equal(dead!.lastDeliveredAt, dead!.firstDeliveredAt, 'last delivery time kept through the release');
  });

  test("the queue's default TTL applies to messages that carry none", async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], defaultTtlMs: 30 });
    await h.engine.publish({ topic: 't', payload: 'x' });
    await waitFor(() => h.engine.deadMessages.list().length === 1);
  });

  test('an expired message is never delivered, even between sweeps', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'x', expiresAt: Date.now() - 1 });
    const { deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => h.engine.getQueue('q').depth === 0);
    assert.equal(deliveries.length, 0);
    assert.equal(h.engine.deadMessages.list()[0]!.reason, 'ttl-expired');
  });

  test('max redelivery moves the entry to the DMQ with reason max-redelivery and the count', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxRedelivery: 2 });
    await h.engine.publish({ topic: 't', payload: 'poison' });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    for (let attempt = 1; attempt <= 3; attempt++) {
      await waitFor(() => deliveries.length === attempt);
      await consumer.fail(deliveries[attempt - 1]!.deliveryId, `attempt ${attempt} failed`);
    }
    const [dead] = h.engine.deadMessages.list();
    assert.equal(dead?.reason, 'max-redelivery');
    assert.equal(dead?.deliveryCount, 3);
    assert.equal(dead?.error, 'attempt 3 failed');
  });

  test('a restart during the last allowed delivery dead-letters the message instead of delivering it again', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxRedelivery: 1 });
    await h.engine.publish({ topic: 't', payload: 'poison' });
    const first = collectingConsumer(h.engine, 'q');
    await waitFor(() => first.deliveries.length === 1);
    await first.consumer.fail(first.deliveries[0]!.deliveryId);
    await waitFor(() => first.deliveries.length === 2, { what: 'the last allowed delivery' });
    const engine = await h.reopen(); // the second (last) delivery was never settled
    const again = collectingConsumer(engine, 'q');
    await waitFor(() => engine.deadMessages.list().length === 1, { what: 'the dead message' });
    assert.equal(again.deliveries.length, 0);
    const [dead] = engine.deadMessages.list();
    assert.equal(dead?.reason, 'max-redelivery');
    assert.equal(dead?.deliveryCount, 2);
  });

  test('a message that is not DMQ-eligible is discarded and counted instead', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'] });
    await h.engine.publish({ topic: 't', payload: 'x', dmqEligible: false });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => deliveries.length === 1);
    await consumer.reject(deliveries[0]!.deliveryId);
    assert.equal(h.engine.deadMessages.list().length, 0);
    assert.equal(h.engine.getQueue('q').counters.discarded, 1);
  });

  test('each queue dead-letters into its own configured DMQ', async () => {
    await h.engine.createQueue('a', {
      subscriptions: ['t'],
      deadMessageQueue: 'line1-dmq',
      overflow: 'dead-letter',
      maxDepthMessages: 1,
    });
    await h.engine.publish({ topic: 't', payload: '1' });
    await h.engine.publish({ topic: 't', payload: '2' });
    assert.equal(h.engine.deadMessages.list({ dmq: 'line1-dmq' }).length, 1);
    assert.equal(h.engine.deadMessages.list({ dmq: '#DMQ' }).length, 0);
  });
});

describe('dead message operations', () => {
  async function killMessages(n: number) {
    await h.engine.createQueue('q', { subscriptions: ['line/+/cmd'] });
    for (let i = 0; i < n; i++)
      await h.engine.publish({ topic: `line/${i % 2 ? 'odd' : 'even'}/cmd`, payload: String(i) });
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => deliveries.length === n);
    await Promise.all(deliveries.map((d) => consumer.reject(d.deliveryId, 'bad')));
    await consumer.close();
  }

  test('browse pages through dead messages in order and filters by topic, reason and queue', async () => {
    await killMessages(10);
    const first = h.engine.deadMessages.list({}, { limit: 4 });
    const second = h.engine.deadMessages.list({}, { limit: 4, afterId: first.at(-1)!.id });
    assert.deepEqual(
      [...first, ...second].map((d) => d.message.payload.toString()),
      ['0', '1', '2', '3', '4', '5', '6', '7'],
    );
    assert.equal(h.engine.deadMessages.list({ topic: 'line/odd/#' }).length, 5);
    assert.equal(h.engine.deadMessages.list({ reason: 'ttl-expired' }).length, 0);
    assert.equal(h.engine.deadMessages.list({ queue: 'q', reason: 'rejected' }).length, 10);
  });

  test('redelivering one dead message puts it back in its original queue with its original id', async () => {
    await killMessages(3);
    const [dead] = h.engine.deadMessages.list();
    const result = await h.engine.deadMessages.redeliver({ ids: [dead!.id] });
    assert.deepEqual(result, { redelivered: 1, failed: [] });
    const queued = h.engine.browseQueue('q');
    assert.equal(queued.length, 1);
    assert.equal(queued[0]!.message.id, dead!.message.id);
    assert.equal(queued[0]!.deliveryCount, 0);
    assert.equal(h.engine.deadMessages.list().length, 2);
    const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
    await waitFor(() => deliveries.length === 1);
    await consumer.ack(deliveries[0]!.deliveryId);
    assert.equal(h.engine.getQueue('q').depth, 0);
  });

  test('redelivering a filtered set moves only the matching ones; all moves the rest', async () => {
    await killMessages(10);
    const some = await h.engine.deadMessages.redeliver({ filter: { topic: 'line/even/#' } });
    assert.equal(some.redelivered, 5);
    assert.equal(h.engine.getQueue('q').depth, 5);
    const rest = await h.engine.deadMessages.redeliver({ filter: {} });
    assert.equal(rest.redelivered, 5);
    assert.equal(h.engine.deadMessages.list().length, 0);
  });

  test('redelivery to a deleted queue fails for that message and keeps it in the DMQ', async () => {
    await killMessages(1);
    await h.engine.deleteQueue('q');
    const [dead] = h.engine.deadMessages.list();
    const result = await h.engine.deadMessages.redeliver({ ids: [dead!.id, '999999'] });
    assert.equal(result.redelivered, 0);
    assert.deepEqual(result.failed.map((f) => f.code).sort(), ['dead-message-not-found', 'queue-not-found']);
    assert.equal(h.engine.deadMessages.list().length, 1);
  });

  test('purge deletes the selected dead messages and export writes the rest as NDJSON', async () => {
    await killMessages(4);
    assert.equal(await h.engine.deadMessages.purge({ filter: { topic: 'line/odd/#' } }), 2);
    const lines = [...h.engine.deadMessages.exportNdjson()].join('').trim().split('\n');
    assert.equal(lines.length, 2);
    const record = JSON.parse(lines[0]!) as { reason: string; message: { payload: string; payloadEncoding: string } };
    assert.equal(record.reason, 'rejected');
    assert.equal(Buffer.from(record.message.payload, 'base64').toString(), '0');
  });

  test('dead messages and their metadata survive a restart', async () => {
    await killMessages(2);
    const before = h.engine.deadMessages.list();
    const engine = await h.reopen();
    assert.deepEqual(engine.deadMessages.list(), before);
  });
});

describe('delivery history across DMQ round trips', () => {
  test('a message redelivered from the DMQ starts a new count but keeps its total deliveries, across a restart', async () => {
    await h.engine.createQueue('q', { subscriptions: ['t'], maxRedelivery: 1 });
    await h.engine.publish({ topic: 't', payload: 'poison' });
    const failTwice = async () => {
      const { consumer, deliveries } = collectingConsumer(h.engine, 'q');
      for (let attempt = 1; attempt <= 2; attempt++) {
        await waitFor(() => deliveries.length === attempt);
        await consumer.fail(deliveries[attempt - 1]!.deliveryId, `attempt ${attempt}`);
      }
      await consumer.close();
    };
    await failTwice();
    const [first] = h.engine.deadMessages.list();
    assert.deepEqual([first!.deliveryCount, first!.totalDeliveryCount], [2, 2]);
    await h.engine.deadMessages.redeliver({ ids: [first!.id] });
    const [queued] = h.engine.browseQueue('q');
    assert.deepEqual([queued!.deliveryCount, queued!.totalDeliveryCount], [0, 2]);
    await h.reopen();
    assert.equal(h.engine.browseQueue('q')[0]!.totalDeliveryCount, 2);
    await failTwice();
    const [second] = h.engine.deadMessages.list();
    assert.equal(second!.reason, 'max-redelivery');
    assert.deepEqual([second!.deliveryCount, second!.totalDeliveryCount], [2, 4]);
    await h.reopen();
    assert.equal(h.engine.deadMessages.get(second!.id).totalDeliveryCount, 4);
  });
});
