// Retention's progress survives a reopen (DESIGN.md: replay, retention; STYLE.md §13): the log start,
// the pruned horizon and the messages queues still hold are all as they were before the close.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Delivery } from '../../core/engine/consumer.ts';
import { Engine } from '../../core/engine/engine.ts';
import { SluiceError } from '../../core/errors.ts';
import { tempDir, testEngineOptions } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

/** Every message counts 204 bytes (200 payload + 4 topic), so byte limits map to message counts. */
const payload = 'x'.repeat(200);
const messageBytes = 204;
const kept = 30;

describe('retention', () => {
  test('the log start, pruned horizon and held messages survive a reopen', async () => {
    const { dir, cleanup } = tempDir();
    const retention = { maxAgeMs: null, maxLogBytes: kept * messageBytes, intervalMs: 20 };
    let engine = await Engine.open(testEngineOptions(dir, { retention }));
    try {
      await engine.createQueue('keep', { subscriptions: ['keep'] });
      const ids: number[] = [];
      // The first five stay held by a queue; the rest are log-only.
      for (let i = 0; i < 100; i++)
        ids.push(Number((await engine.publish({ topic: i < 5 ? 'keep' : 'logx', payload })).id));
      const expectedStart = ids[100 - kept]!;
      await waitFor(() => engine.log.startId === expectedStart, { what: `log start ${expectedStart}` });
      // Pruning follows the start: an unheld old message goes, held ones stay.
      await waitFor(() => engine.store.getMessage(ids[10]!) === undefined, { what: 'old messages pruned' });
      assert.ok(engine.store.getMessage(ids[0]!), 'a message the queue holds is not pruned');
      const info = engine.storageInfo();
      const prunedThroughTs = engine.log.prunedThroughTs;
      assert.equal(info.logBytes, kept * messageBytes);
      assert.notEqual(prunedThroughTs, null);
      await engine.close();

      // Reopen with retention effectively off, so everything seen comes from what was stored.
      engine = await Engine.open(testEngineOptions(dir, { retention: { ...retention, intervalMs: 3_600_000 } }));
      const after = engine.storageInfo();
      assert.deepEqual(
        { logStartId: after.logStartId, logBytes: after.logBytes, firstTimestamp: after.firstTimestamp },
        { logStartId: info.logStartId, logBytes: info.logBytes, firstTimestamp: info.firstTimestamp },
      );
      assert.equal(engine.log.prunedThroughTs, prunedThroughTs);

      // A replay from before the start is refused and says where the log now starts.
      await assert.rejects(
        engine.replays.start({
          target: { queue: 'r1', create: {} },
          start: { kind: 'message-id', id: String(ids[0]) },
        }),
        (error: unknown) =>
          error instanceof SluiceError &&
          error.code === 'replay-before-retention' &&
          error.data?.['logStartId'] === String(expectedStart),
      );
      await assert.rejects(
        engine.replays.start({ target: { queue: 'r2', create: {} }, start: { kind: 'timestamp', at: 0 } }),
        (error: unknown) => error instanceof SluiceError && error.code === 'replay-before-retention',
      );
      const replay = await engine.replays.start({ target: { queue: 'r3', create: {} }, start: { kind: 'beginning' } });
      const done = await engine.replays.finished(replay.id);
      assert.equal(done.replayed, kept);
      assert.equal(engine.browseQueue('r3', { limit: 1 })[0]?.message.id, String(expectedStart));

      // The held messages are intact; once acked they go, because the reopened engine knows they
      // are before the log start.
      const deliveries: Delivery[] = [];
      const consumer = engine.consume('keep', { onDelivery: (d) => deliveries.push(d) });
      await waitFor(() => deliveries.length === 5, { what: 'held messages delivered' });
      assert.deepEqual(
        deliveries.map((d) => [Number(d.message.id), d.message.payload.toString()]),
        ids.slice(0, 5).map((id) => [id, payload]),
      );
      await Promise.all(deliveries.map((d) => consumer.ack(d.deliveryId)));
      assert.equal(engine.store.getMessage(ids[0]!), undefined, 'an acked message before the log start is deleted');
      assert.equal(engine.store.integrityCheck(), 'ok');
    } finally {
      await engine.close();
      cleanup();
    }
  });
});
