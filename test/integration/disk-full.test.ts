// Disk full (DESIGN.md: durability contract): refuse new publishes with a clear reason, keep serving
// consumers, never corrupt what is stored, and accept publishes again once there is room.
// SQLite's max_page_count stands in for a full disk: both surface as SQLITE_FULL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Delivery } from '../../core/engine/consumer.ts';
import { Engine, type QueuedMessage } from '../../core/engine/engine.ts';
import { SluiceError, errorCatalog } from '../../core/errors.ts';
import { tempDir, testEngineOptions } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

/** Small enough to fill in well under a second with 200-byte messages (a 4 KiB page each). */
const maxPageCount = 80;

function browseAll(engine: Engine, queue: string): QueuedMessage[] {
  const all: QueuedMessage[] = [];
  for (;;) {
    const page = engine.browseQueue(queue, { afterEntryId: all.at(-1)?.entryId ?? 0, limit: 1000 });
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

const isStoreFull = (error: unknown): error is SluiceError =>
  error instanceof SluiceError && error.code === 'store-full';

/** Twenty 200-byte publishes at once: they share one commit, which fits whole or fails whole. */
function publishBurst(engine: Engine, tag: string) {
  return Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => {
      const body = `order ${tag}.${i} `.padEnd(200, '#');
      return engine.publish({ topic: 'orders/new', payload: body }).then((r) => [r.id, body] as const);
    }),
  );
}

/** Asserts a whole burst was refused with store-full (a smaller message might still squeeze in). */
async function assertBurstRefused(engine: Engine, tag: string): Promise<void> {
  const results = await publishBurst(engine, tag);
  for (const result of results)
    assert.ok(result.status === 'rejected' && isStoreFull(result.reason), `burst ${tag} is refused as store-full`);
}

describe('disk full', () => {
  test('a full store refuses publishes with store-full, keeps serving consumers, and recovers when space returns', async () => {
    const { dir, cleanup } = tempDir();
    const options = testEngineOptions(dir, { maxPageCount });
    let engine = await Engine.open(options);
    try {
      await engine.createQueue('orders', { subscriptions: ['orders/#'] });
      const acknowledged = new Map<string, string>();
      let refusal: SluiceError | undefined;
      // Publish in concurrent bursts (one commit each) until the store says it is full.
      for (let burst = 0; refusal === undefined; burst++) {
        assert.ok(burst < 1000, 'the store never filled up');
        const results = await publishBurst(engine, String(burst));
        for (const result of results) {
          if (result.status === 'fulfilled') acknowledged.set(result.value[0], result.value[1]);
          else if (isStoreFull(result.reason)) refusal = result.reason;
          else throw result.reason;
        }
      }
      assert.ok(acknowledged.size > 50, `${acknowledged.size} messages fit before the store was full`);
      assert.equal(refusal.mapping.http, errorCatalog['store-full'].http);
      assert.match(refusal.detail, /disk or database size limit/);
      // Still full on the next try: the refusal is a state, not a one-off.
      await assertBurstRefused(engine, 'again');
      assert.ok(engine.counters.publishRefused >= 20);
      // Squeeze in single messages until even one is refused: the store is now as full as it gets.
      for (let i = 0; ; i++) {
        assert.ok(i < 1000, 'single publishes never filled the last page');
        const body = `order last.${i} `.padEnd(200, '#');
        try {
          acknowledged.set((await engine.publish({ topic: 'orders/new', payload: body })).id, body);
        } catch (error) {
          if (!isStoreFull(error)) throw error;
          break;
        }
      }

      // While full, a consumer still receives and its acks still commit.
      const deliveries: Delivery[] = [];
      const consumer = engine.consume('orders', {
        flow: { mode: 'prefetch', prefetch: 10 },
        onDelivery: (d) => deliveries.push(d),
      });
      await waitFor(() => deliveries.length >= 10, { what: 'deliveries while full' });
      const consumed = deliveries.slice(0, 10);
      for (const delivery of consumed) await consumer.ack(delivery.deliveryId);
      await consumer.close({ failInFlight: false });
      assert.equal(engine.store.integrityCheck(), 'ok');
      await engine.close();

      // Everything acknowledged before is intact after a reopen, minus what was consumed.
      engine = await Engine.open(options);
      assert.equal(engine.store.integrityCheck(), 'ok');
      const gone = new Set(consumed.map((d) => d.message.id));
      const held = browseAll(engine, 'orders');
      assert.deepEqual(
        held.map((e) => [e.message.id, e.message.payload.toString()]),
        [...acknowledged].filter(([id]) => !gone.has(id)),
      );
      await assertBurstRefused(engine, 'after-reopen');

      // Space returns: publishing resumes on the same engine.
      engine.store.setMaxPageCount(maxPageCount * 4);
      const resumed = await engine.publish({ topic: 'orders/new', payload: 'room again' });
      assert.deepEqual(resumed.queues, ['orders']);
      assert.equal(engine.getQueue('orders').depth, held.length + 1);
      assert.equal(engine.store.integrityCheck(), 'ok');
    } finally {
      await engine.close();
      cleanup();
    }
  });

  // A real full filesystem differs from max_page_count: statements still succeed (they change
  // pages in memory) and the COMMIT fails, when SQLite appends them to the WAL. In-memory queue
  // state changed in that transaction must be rolled back with it.
  const tmpfsSkip =
    process.getuid?.() === 0 || process.env.CI === 'true' ? undefined : 'needs root to mount a small tmpfs';
  test(
    'a full filesystem fails the COMMIT itself: queue depths stay equal to what is stored, nothing acknowledged is lost',
    { skip: tmpfsSkip },
    async () => {
      const { dir, cleanup } = tempDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
      const engine = await Engine.open(testEngineOptions(dir));
      try {
        await engine.createQueue('orders', { subscriptions: ['orders/#'] });
        await engine.createQueue('short-lived', { subscriptions: ['orders/#'], defaultTtlMs: 20 });
        const acked = new Set<string>();
        const consumed = new Set<string>();
        const consumer = engine.consume('orders', {
          flow: { mode: 'prefetch', prefetch: 50 },
          onDelivery: (delivery) => {
            consumer.ack(delivery.deliveryId).then(
              () => consumed.add(delivery.message.id),
              () => {}, // refused while full: redelivered later
            );
          },
        });
        // Fill the filesystem with a ballast file, leaving less than 256 KiB for the broker.
        writeFileSyncUntilFull(join(dir, 'ballast'), 256 * 1024);
        // Publish, consume and expire while commits fail at COMMIT time.
        let refusals = 0;
        for (let burst = 0; burst < 60 && refusals < 20; burst++) {
          for (const result of await publishBurst(engine, `fs${burst}`)) {
            if (result.status === 'fulfilled') acked.add(result.value[0]);
            else if (isStoreFull(result.reason) || (result.reason as SluiceError).code === 'store-error') refusals++;
            else throw result.reason;
          }
        }
        assert.ok(refusals > 0, 'the filesystem filled up');
        rmSync(join(dir, 'ballast'));
        await engine.publish({ topic: 'orders/new', payload: 'room again' }).then((r) => acked.add(r.id));
        for (const name of ['orders', 'short-lived']) {
          const stored: number = browseAll(engine, name).length;
          const depth: number = engine.getQueue(name).depth;
          assert.ok(depth >= 0, `${name}: depth ${depth} is not negative`);
          assert.equal(depth, stored, `${name}: the depth in memory is what the store holds`);
        }
        await consumer.close({ failInFlight: false });
        const held = new Set(browseAll(engine, 'orders').map((entry) => entry.message.id));
        const lost = [...acked].filter((id) => !consumed.has(id) && !held.has(id));
        assert.deepEqual(lost, [], 'every acknowledged message is consumed or still queued');
        assert.equal(engine.store.integrityCheck(), 'ok');
      } finally {
        await engine.close();
        execFileSync('umount', ['-l', dir]);
        cleanup();
      }
    },
  );

  test(
    'a broker restarted on a full filesystem starts, refuses publishes, and once space returns delivers everything, the in-flight entries of the process before included',
    { skip: tmpfsSkip },
    async () => {
      const { dir, cleanup } = tempDir();
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
      let engine = await Engine.open(testEngineOptions(dir));
      try {
        await engine.createQueue('orders', { subscriptions: ['orders/#'] });
        const published: string[] = [];
        for (let i = 0; i < 300; i++)
          published.push((await engine.publish({ topic: 'orders/new', payload: `order ${i} `.padEnd(200, '#') })).id);
        // A consumer takes 100 and never settles them: in flight when the process ends.
        let held = 0;
        engine.consume('orders', { flow: { mode: 'prefetch', prefetch: 100 }, onDelivery: () => void held++ });
        await waitFor(() => held === 100);
        writeFileSyncUntilFull(join(dir, 'ballast'), 64 * 1024);
        writeFileSyncUntilFull(join(dir, 'ballast-tail'), 512);
        await engine.close().catch(() => {}); // the in-flight entries stay in flight on disk
        writeFileSyncUntilFull(join(dir, 'ballast-after-close'), 512);

        engine = await Engine.open(testEngineOptions(dir));
        assert.equal(engine.getQueue('orders').depth, 300, 'every stored entry is counted');
        await assert.rejects(engine.publish({ topic: 'orders/new', payload: 'no room' }), isStoreFull);
        const received: Delivery[] = [];
        engine.consume('orders', {
          flow: { mode: 'prefetch', prefetch: 1000 },
          onDelivery: (delivery) => void received.push(delivery),
        });
        // Handing out a delivery is itself a write (its entry is marked in flight), so on a full
        // filesystem nothing is delivered; the broker keeps trying twice a second, not in a loop.
        const cpuBefore = process.cpuUsage();
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const cpu = process.cpuUsage(cpuBefore);
        assert.equal(received.length, 0, 'nothing is handed out while no write can commit');
        assert.ok(cpu.user + cpu.system < 1_000_000, 'a full disk does not spin the event loop');
        // Once space returns, everything is delivered: the stranded entries too, once their reset commits.
        for (const name of ['ballast', 'ballast-tail', 'ballast-after-close']) rmSync(join(dir, name));
        await waitFor(() => received.length === 300, { timeoutMs: 10_000 });
        assert.deepEqual(
          received.map((delivery) => delivery.message.id).sort(),
          [...published].sort(),
          'every message once, none lost, none twice',
        );
        const redelivered = received.filter((delivery) => delivery.deliveryCount === 2);
        assert.equal(redelivered.length, 100, 'the stranded entries keep their delivery count');
        assert.equal(engine.store.integrityCheck(), 'ok');
      } finally {
        await engine.close().catch(() => {});
        execFileSync('umount', ['-l', dir]);
        cleanup();
      }
    },
  );
});

/** Writes `chunkBytes` chunks to `path` until the filesystem is full. */
function writeFileSyncUntilFull(path: string, chunkBytes: number): void {
  const fd = openSync(path, 'w');
  try {
    for (;;) writeSync(fd, Buffer.alloc(chunkBytes));
  } catch {
    // ENOSPC
  } finally {
    closeSync(fd);
  }
}
