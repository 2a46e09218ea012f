// Dead messages survive a reopen with the original message and every fact of their death
// (DESIGN.md: dead message; STYLE.md §13), and can still be redelivered afterwards.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Delivery } from '../../core/engine/consumer.ts';
import type { DeadMessage } from '../../core/engine/dmq.ts';
import type { Engine } from '../../core/engine/engine.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

function collect(engine: Engine, queue: string, label: string) {
  const deliveries: Delivery[] = [];
  const consumer = engine.consume(queue, {
    label,
    flow: { mode: 'prefetch', prefetch: 10 },
    onDelivery: (delivery) => deliveries.push(delivery),
  });
  return { consumer, deliveries };
}

const byReason = (dead: DeadMessage[]) => new Map(dead.map((d) => [d.reason, d]));

describe('dead messages', () => {
  test('dead messages keep the original message and every fact of their death across a reopen', async () => {
    // Fast expiry sweeps so a TTL death happens within the test.
    const t = await openTestEngine({ expiryIntervalMs: 10 });
    try {
      const engine = t.engine;
      await engine.createQueue('work', { subscriptions: ['work/#'], maxRedelivery: 0, deadMessageQueue: 'work-dmq' });
      await engine.createQueue('tiny', { subscriptions: ['tiny'], maxDepthMessages: 1, overflow: 'dead-letter' });
      await engine.createQueue('fleeting', { subscriptions: ['fleeting'] });
      const rich = {
        contentType: 'application/json',
        headers: { plant: 'north', line: '7' },
        correlationId: 'corr-1',
        replyTo: 'replies/1',
        priority: 8,
        publisher: 'plc-7',
        protocol: 'amqp',
      };
      const failed = await engine.publish({ topic: 'work/a', payload: '{"n":1}', ...rich });
      const rejected = await engine.publish({ topic: 'work/b', payload: Buffer.from([0, 1, 2, 254, 255]) });
      const discarded = await engine.publish({ topic: 'work/c', payload: 'not eligible', dmqEligible: false });
      const { consumer, deliveries } = collect(engine, 'work', 'amqp:mes/work');
      await waitFor(() => deliveries.length === 3, { what: 'three work deliveries' });
      const delivery = (id: string) => deliveries.find((d) => d.message.id === id)!;
      await consumer.fail(delivery(failed.id).deliveryId, 'handler threw: timeout talking to MES');
      await consumer.reject(delivery(rejected.id).deliveryId, 'payload is not JSON');
      await consumer.reject(delivery(discarded.id).deliveryId, 'also bad');
      await engine.publish({ topic: 'tiny', payload: 'fits' });
      const overflowed = await engine.publish({ topic: 'tiny', payload: 'does not fit' });
      const expired = await engine.publish({ topic: 'fleeting', payload: 'short-lived', ttlMs: 1 });
      await waitFor(() => engine.deadMessages.list().length === 4, { what: 'four dead messages' });

      const before = engine.deadMessages.list();
      const counts = engine.deadMessages.counts();
      const dead = byReason(before);
      // Sanity: each way of dying produced the facts the DMQ promises.
      assert.deepEqual(
        {
          dmq: dead.get('max-redelivery')!.dmq,
          queue: dead.get('max-redelivery')!.queue,
          count: dead.get('max-redelivery')!.deliveryCount,
          consumer: dead.get('max-redelivery')!.consumer,
          error: dead.get('max-redelivery')!.error,
          id: dead.get('max-redelivery')!.message.id,
          headers: dead.get('max-redelivery')!.message.headers,
        },
        {
          dmq: 'work-dmq',
          queue: 'work',
          count: 1,
          consumer: 'amqp:mes/work',
          error: 'handler threw: timeout talking to MES',
          id: failed.id,
          headers: rich.headers,
        },
      );
      assert.ok(dead.get('max-redelivery')!.firstDeliveredAt !== null && dead.get('max-redelivery')!.lastDeliveredAt);
      assert.equal(dead.get('rejected')!.message.id, rejected.id);
      assert.equal(dead.get('rejected')!.error, 'payload is not JSON');
      assert.equal(dead.get('overflow')!.message.id, overflowed.id);
      assert.equal(dead.get('overflow')!.dmq, '#DMQ');
      assert.equal(dead.get('ttl-expired')!.message.id, expired.id);
      assert.equal(engine.getQueue('work').counters.discarded, 1, 'the ineligible message was counted, not kept');

      const reopened = await t.reopen();
      assert.deepEqual(reopened.deadMessages.list(), before);
      assert.deepEqual(reopened.deadMessages.counts(), counts);
      assert.deepEqual(reopened.deadMessages.list({ dmq: 'work-dmq', reason: 'rejected' }), [dead.get('rejected')]);
      assert.deepEqual(
        reopened.deadMessages.get(dead.get('max-redelivery')!.id).message.payload,
        Buffer.from('{"n":1}'),
      );
      assert.equal(reopened.getQueue('work').counters.discarded, 1);
      assert.equal(reopened.getQueue('work').counters.deadLettered, 2);
    } finally {
      await t.cleanup();
    }
  });

  test('a dead message redelivered after a reopen returns to its queue under its original id', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('work', { subscriptions: ['work'], maxRedelivery: 0 });
      const published = await t.engine.publish({ topic: 'work', payload: 'try me again', headers: { k: 'v' } });
      const first = collect(t.engine, 'work', 'first');
      await waitFor(() => first.deliveries.length === 1, { what: 'first delivery' });
      await first.consumer.reject(first.deliveries[0]!.deliveryId, 'not now');
      const [dead] = t.engine.deadMessages.list();
      assert.ok(dead);

      const reopened = await t.reopen();
      const result = await reopened.deadMessages.redeliver({ ids: [dead.id] });
      assert.deepEqual(result, { redelivered: 1, failed: [] });
      assert.deepEqual(reopened.deadMessages.list(), []);
      const second = collect(reopened, 'work', 'second');
      await waitFor(() => second.deliveries.length === 1, { what: 'redelivered message' });
      const [again] = second.deliveries;
      assert.equal(again!.message.id, published.id);
      assert.equal(again!.message.payload.toString(), 'try me again');
      assert.deepEqual(again!.message.headers, { k: 'v' });
      assert.equal(again!.deliveryCount, 1, 'a redelivered dead message starts counting afresh');
      await second.consumer.ack(again!.deliveryId);

      // And that redelivery itself is durable.
      const third = await t.reopen();
      assert.equal(third.getQueue('work').depth, 0);
      assert.deepEqual(third.deadMessages.list(), []);
    } finally {
      await t.cleanup();
    }
  });
});
