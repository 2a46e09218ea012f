// Queues survive a reopen (STYLE.md §13): config, counters, ready entries in order, and in-flight
// entries coming back as ready with their delivery count kept (DESIGN.md: durability contract).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Delivery } from '../../core/engine/consumer.ts';
import type { Engine, QueueInfo, QueuedMessage } from '../../core/engine/engine.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

/** Attaches a consumer that records deliveries and settles nothing by itself. */
function collect(engine: Engine, queue: string, prefetch: number) {
  const deliveries: Delivery[] = [];
  const consumer = engine.consume(queue, {
    flow: { mode: 'prefetch', prefetch },
    onDelivery: (delivery) => deliveries.push(delivery),
  });
  return { consumer, deliveries };
}

/** What must be identical after a reopen (consumers and in-flight are run-time facts). */
function durablePart(info: QueueInfo) {
  const { consumers: _consumers, inFlight: _inFlight, ...rest } = info;
  return rest;
}

function browseAll(engine: Engine, queue: string): QueuedMessage[] {
  return engine.browseQueue(queue, { limit: 1000 });
}

describe('queues', () => {
  test('queues keep their config, depth and counters across a reopen', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('orders', {
        subscriptions: ['plant/+/orders', 'plant/line-1/#'],
        maxDepthMessages: 500,
        maxDepthBytes: 100_000,
        overflow: 'drop-oldest',
        maxRedelivery: 2,
        defaultTtlMs: 3_600_000,
        deadMessageQueue: 'orders-dmq',
        accessType: 'exclusive',
      });
      await t.engine.createQueue('audit', { subscriptions: ['#'] });
      for (let i = 0; i < 10; i++) await t.engine.publish({ topic: 'plant/line-1/orders', payload: `order ${i}` });
      const { consumer, deliveries } = collect(t.engine, 'orders', 4);
      await waitFor(() => deliveries.length === 4, { what: 'four deliveries' });
      // Each ack gives the credit back, so one more is delivered per ack: 4 + 3 delivered.
      for (const delivery of deliveries.slice(0, 3)) await consumer.ack(delivery.deliveryId);
      await waitFor(() => deliveries.length === 7, { what: 'credit reused' });
      const before = t.engine.listQueues().map(durablePart);
      assert.deepEqual(
        before.find((q) => q.name === 'orders')?.counters,
        { enqueued: 10, delivered: 7, acked: 3, deadLettered: 0, discarded: 0, expired: 0 },
        'sanity: the counters moved before the reopen',
      );

      const reopened = await t.reopen();
      assert.deepEqual(reopened.listQueues().map(durablePart), before);
      assert.equal(reopened.getQueue('orders').inFlight, 0, 'nothing is in flight right after a reopen');
    } finally {
      await t.cleanup();
    }
  });

  test('ready entries keep their content and delivery order across a reopen', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('telemetry', { subscriptions: ['sensors/#'] });
      await t.engine.createQueue('alarms', { subscriptions: ['sensors/+/alarm'] });
      // Concurrent publishes share commits; their log order is still their entry order.
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          t.engine.publish({
            topic: i % 3 === 0 ? `sensors/s${i}/alarm` : `sensors/s${i}/value`,
            payload: Buffer.from([i, 255 - i, 0, 7]),
            contentType: 'application/octet-stream',
            headers: { index: String(i) },
            correlationId: `corr-${i}`,
            replyTo: 'replies/here',
            priority: i % 10,
            publisher: 'plc-7',
            protocol: 'mqtt',
            ttlMs: 3_600_000,
            dmqEligible: i % 2 === 0,
          }),
        ),
      );
      const telemetry = browseAll(t.engine, 'telemetry');
      const alarms = browseAll(t.engine, 'alarms');
      assert.equal(telemetry.length, 60);
      assert.equal(alarms.length, 20);

      const reopened = await t.reopen();
      assert.deepEqual(browseAll(reopened, 'telemetry'), telemetry);
      assert.deepEqual(browseAll(reopened, 'alarms'), alarms);

      // And they are delivered in that same order after the reopen.
      const { consumer, deliveries } = collect(reopened, 'telemetry', 1000);
      await waitFor(() => deliveries.length === 60, { what: 'all telemetry delivered' });
      assert.deepEqual(
        deliveries.map((d) => d.message.id),
        telemetry.map((e) => e.message.id),
      );
      assert.ok(deliveries.every((d) => d.deliveryCount === 1));
      await Promise.all(deliveries.map((d) => consumer.ack(d.deliveryId)));
    } finally {
      await t.cleanup();
    }
  });

  test('in-flight entries return to ready with their delivery count kept after a reopen', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('jobs', { subscriptions: ['jobs'], maxRedelivery: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await t.engine.publish({ topic: 'jobs', payload: `job ${i}` })).id);
      const { consumer, deliveries } = collect(t.engine, 'jobs', 3);
      await waitFor(() => deliveries.length === 3, { what: 'three deliveries' });
      // A failed attempt counts; the first job comes straight back (lowest id) with count 2.
      await consumer.fail(deliveries[0]!.deliveryId, 'transient');
      await waitFor(() => deliveries.length === 4, { what: 'the failed job redelivered' });
      assert.deepEqual(
        deliveries.map((d) => [d.message.id, d.deliveryCount]),
        [
          [ids[0], 1],
          [ids[1], 1],
          [ids[2], 1],
          [ids[0], 2],
        ],
      );
      assert.deepEqual(
        browseAll(t.engine, 'jobs').map((e) => e.state),
        ['in-flight', 'in-flight', 'in-flight', 'ready', 'ready'],
      );

      // Closed with three deliveries unsettled, as a crash would leave them.
      const reopened = await t.reopen();
      assert.deepEqual(
        browseAll(reopened, 'jobs').map((e) => [e.message.id, e.state, e.deliveryCount]),
        [
          [ids[0], 'ready', 2],
          [ids[1], 'ready', 1],
          [ids[2], 'ready', 1],
          [ids[3], 'ready', 0],
          [ids[4], 'ready', 0],
        ],
      );
      const again = collect(reopened, 'jobs', 10);
      await waitFor(() => again.deliveries.length === 5, { what: 'all jobs redelivered' });
      assert.deepEqual(
        again.deliveries.map((d) => [d.message.id, d.deliveryCount]),
        [
          [ids[0], 3],
          [ids[1], 2],
          [ids[2], 2],
          [ids[3], 1],
          [ids[4], 1],
        ],
      );
      await Promise.all(again.deliveries.map((d) => again.consumer.ack(d.deliveryId)));
      assert.equal(reopened.getQueue('jobs').depth, 0);
    } finally {
      await t.cleanup();
    }
  });

  test('message ids continue after a reopen and are never reused', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('ids', { subscriptions: ['ids'] });
      const first = await t.engine.publish({ topic: 'ids', payload: 'a' });
      const { consumer, deliveries } = collect(t.engine, 'ids', 10);
      await waitFor(() => deliveries.length === 1, { what: 'delivery' });
      await consumer.ack(deliveries[0]!.deliveryId);

      const reopened = await t.reopen();
      const second = await reopened.publish({ topic: 'ids', payload: 'b' });
      assert.ok(Number(second.id) > Number(first.id), `message id ${second.id} follows ${first.id}`);
    } finally {
      await t.cleanup();
    }
  });

  // A drained queue must not restart its entry ids at 1: a delivery id handed out before the
  // restart would otherwise name a different message after it.
  test('entry ids of a drained queue continue after a reopen instead of restarting at 1', async () => {
    const t = await openTestEngine();
    try {
      await t.engine.createQueue('ids', { subscriptions: ['ids'] });
      await t.engine.publish({ topic: 'ids', payload: 'a' });
      const { consumer, deliveries } = collect(t.engine, 'ids', 10);
      await waitFor(() => deliveries.length === 1, { what: 'delivery' });
      await consumer.ack(deliveries[0]!.deliveryId);
      const lastEntry = deliveries[0]!.deliveryId;

      const reopened = await t.reopen();
      await reopened.publish({ topic: 'ids', payload: 'b' });
      const [entry] = browseAll(reopened, 'ids');
      assert.ok(entry && entry.entryId > lastEntry, `entry id ${entry?.entryId} follows ${lastEntry}`);
    } finally {
      await t.cleanup();
    }
  });
});
