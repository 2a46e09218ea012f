// docs/architecture.md: an operation that throws fails alone and leaves nothing behind. A
// property over the contract's mutating operations: refuse any sequence of them, then compare
// queues, entries, dead messages, the log and replays with what they were before.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { contract, operationNames, type UnaryOperationName } from '../../core/api/contract.ts';
import { createService, type Service } from '../../core/api/service.ts';
import type { Engine } from '../../core/engine/engine.ts';
import { SluiceError } from '../../core/errors.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

type Refusal = { readonly op: UnaryOperationName; readonly input: Record<string, unknown> };

const unknownDelivery = '999-0a1b2c3d4e5f';
const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * Inputs each mutating operation refuses, against the state `setUp` builds. A new mutating
 * operation needs refusals here (or a place in `neverRefused`): the completeness test says so.
 */
const refusals: Readonly<Partial<Record<UnaryOperationName, ReadonlyArray<Record<string, unknown>>>>> = {
  'queues.create': [
    { name: 'orders' },
    { name: 'bad name' },
    { name: 'fresh', subscriptions: ['a/#/b'] },
    { name: 'fresh', maxRedelivery: -1 },
  ],
  'queues.update': [
    { name: 'ghost', maxRedelivery: 3 },
    { name: 'orders', subscriptions: ['x/#/y'] },
    { name: 'orders', maxDepthMessages: -5 },
  ],
  'queues.delete': [{ name: 'ghost' }, { name: 'busy' }],
  'queues.purge': [{ name: 'ghost' }, { name: 'bad name' }],
  'dmq.redeliver': [{}, { filter: {} }, { ids: ['1'], all: true }, { filter: { topic: 'a/#/b' } }, { ids: ['0'] }],
  'dmq.purge': [{}, { filter: {} }, { ids: ['1'], all: true }, { filter: { topic: 'a/#/b' } }],
  'replay.start': [
    // The cases: refused after the target was made, with subscriptions that collect live traffic.
    { target: { queue: 'orphan', create: { subscriptions: ['#'] } }, start: { kind: 'message-id', id: '100000' } },
    { target: { queue: 'orphan', create: { subscriptions: ['#'] } }, start: { kind: 'message-id', id: '1' } },
    { target: { queue: 'orphan', create: { subscriptions: ['#'] } }, start: { kind: 'timestamp', at: 0 } },
    { target: { queue: 'orphan', create: {} }, start: { kind: 'message-id', id: '0' } },
    { target: { queue: 'orphan', create: {} }, start: { kind: 'beginning' }, topicFilter: 'a/#/b' },
    { target: { queue: 'orphan', create: { maxRedelivery: -1 } }, start: { kind: 'beginning' } },
    { target: { queue: 'bad name', create: {} }, start: { kind: 'beginning' } },
    { target: { queue: 'ghost' }, start: { kind: 'beginning' } },
    { target: { queue: 'ghost' }, start: { kind: 'message-id', id: '100000' } },
  ],
  'replay.cancel': [{ id: '999' }],
  'messages.publish': [
    { topic: 'plant/a/orders', payload: 'one too many' },
    { topic: '$queue/ghost', payload: 'x' },
    { topic: 'a/+', payload: 'x' },
    { topic: 'x', payload: '!!', payloadEncoding: 'base64' },
    { topic: 'big', payload: 'x'.repeat(1024 * 1024 + 1) },
  ],
  'topics.publish': [
    { topic: 'plant/b/orders', payload: base64('one too many'), payloadEncoding: 'base64' },
    { topic: '$queue/ghost', payload: base64('x'), payloadEncoding: 'base64' },
  ],
  'queues.receive': [{ name: 'ghost' }],
  'queues.ack': [
    { name: 'orders', deliveryId: unknownDelivery },
    { name: 'ghost', deliveryId: unknownDelivery },
  ],
  'queues.reject': [{ name: 'orders', deliveryId: unknownDelivery }],
  'queues.release': [{ name: 'orders', deliveryId: unknownDelivery }],
  'connections.disconnect': [{ id: 'nobody' }],
  'demo.start': [{ name: 'no-such-scenario' }],
  'demo.reset': [{ name: 'no-such-scenario' }],
  // Without a security store (this service has none) these refuse with invalid-config.
  'auth.setup': [{ password: 'long enough' }],
  'auth.login': [{ user: 'admin', password: 'wrong' }],
  'users.create': [{ name: 'alice', password: 'long enough' }],
  'users.update': [{ name: 'alice', password: 'long enough' }],
  'users.delete': [{ name: 'alice' }],
  'roles.put': [{ name: 'r', rules: [] }],
  'roles.delete': [{ name: 'r' }],
  // Documents it does not understand: refused whole, nothing applied.
  'config.import': [
    { document: {} },
    { document: { format: 'rabbitmq', version: 1 } },
    { document: { format: 'sluice-config', version: 99 } },
  ],
  // This service runs no push consumers: refused whatever the input; with them, bad input too.
  'push.put': [
    { queue: 'orders', name: 'sap', url: 'http://127.0.0.1:9/' },
    { queue: 'ghost', name: 'sap', url: 'http://127.0.0.1:9/' },
  ],
  'push.delete': [{ queue: 'orders', name: 'nobody' }],
  'sparkplug.rebirth': [
    { group: 'a/b', node: 'n' },
    { group: 'g', node: '+' },
    { group: '', node: 'n' },
  ],
};

/** Mutating operations that have no refusal to test: they always succeed. */
// backup.start only writes a copy of the store beside it; it changes no broker state.
const neverRefused = new Set<string>(['auth.logout', 'demo.stop', 'backup.start']);

/** What a refused operation must not change. */
function snapshot(engine: Engine) {
  const queues = engine.listQueues();
  return {
    queues: queues.map(({ name, config, depth, bytes, inFlight, consumers, counters }) => ({
      name,
      config,
      depth,
      bytes,
      inFlight,
      consumers,
      counters,
    })),
    entries: queues.map((q) =>
      engine.browseQueue(q.name, { limit: 1000 }).map((e) => [e.entryId, e.state, e.deliveryCount, e.message.id]),
    ),
    dead: engine.deadMessages.list({}, { limit: 1000 }).map((d) => [d.id, d.queue, d.reason, d.message.id]),
    dmqCounts: engine.deadMessages.counts(),
    log: { ...engine.store.logBounds(), lastAssigned: engine.store.lastAssignedMessageId(), start: engine.log.startId },
    replays: engine.replays.list().map((r) => [r.id, r.state, r.replayed]),
  };
}

describe('refused operations leave nothing behind', () => {
  let h: Awaited<ReturnType<typeof openTestEngine>>;
  let service: Service;

  before(async () => {
    h = await openTestEngine({ retention: { maxAgeMs: 1, maxLogBytes: 1024 * 1024 * 1024, intervalMs: 3_600_000 } });
    const { engine } = h;
    // A pruned log start, so replays from id 1 or time 0 are before retention.
    await engine.publish({ topic: 'old/1', payload: 'x' });
    await waitFor(() => Date.now() > engine.log.lastTimestamp + 5);
    await engine.publish({ topic: 'old/2', payload: 'x' });
    const retention = (engine as unknown as { retention: { run(now?: number): Promise<unknown> } }).retention;
    await retention.run(engine.log.lastTimestamp);
    assert.equal(engine.log.startId, 2);
    // A full reject-publisher queue, a queue with a consumer holding a delivery, a dead message, a replay.
    await engine.createQueue('orders', { subscriptions: ['plant/+/orders'], maxDepthMessages: 2 });
    for (const n of [1, 2]) await engine.publish({ topic: 'plant/a/orders', payload: `order ${n}` });
    await engine.createQueue('busy', { subscriptions: ['busy/#'] });
    let held = 0;
    engine.consume('busy', { onDelivery: () => held++ });
    await engine.publish({ topic: 'busy/1', payload: 'held' });
    await waitFor(() => held === 1);
    await engine.createQueue('dying', { subscriptions: ['die'] });
    await engine.publish({ topic: 'die', payload: 'poison' });
    const killer = engine.consume('dying', { onDelivery: (d) => void killer.reject(d.deliveryId, 'no') });
    await waitFor(() => engine.deadMessages.counts().length === 1);
    await killer.close();
    const replay = await engine.replays.start({ target: { queue: 'copy', create: {} }, start: { kind: 'beginning' } });
    await engine.replays.finished(replay.id);
    service = createService(engine);
  });
  after(async () => {
    service.close();
    await h.cleanup();
  });

  test('every mutating operation of the contract has refusals here, or is one that is never refused', () => {
    const mutating = operationNames.filter((name) => contract[name].http.method !== 'GET');
    const missing = mutating.filter((name) => !(name in refusals) && !neverRefused.has(name));
    assert.deepEqual(missing, [], 'add refused inputs for these operations to test/integration/api-refusals.test.ts');
  });

  test('any sequence of refused operations leaves queues, entries, the DMQ, the log and replays as they were', async () => {
    const refusal = fc.oneof(
      ...Object.entries(refusals).map(([op, inputs]) =>
        fc.constantFrom(...inputs!).map((input): Refusal => ({ op: op as UnaryOperationName, input })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(refusal, { minLength: 1, maxLength: 4 }), async (sequence) => {
        const before = snapshot(h.engine);
        for (const { op, input } of sequence)
          await assert.rejects(
            service.call(op, input),
            (e: unknown) => e instanceof SluiceError,
            `${op} ${JSON.stringify(input).slice(0, 200)} should be refused`,
          );
        assert.deepEqual(snapshot(h.engine), before);
      }),
      { numRuns: 60 },
    );
  });

  test('after a refused replay with create.subscriptions, a live message reaches no orphan queue', async () => {
    await assert.rejects(
      service.call('replay.start', {
        target: { queue: 'orphan', create: { subscriptions: ['#'] } },
        start: { kind: 'message-id', id: '100000' },
      }),
    );
    const receipt = await service.call('messages.publish', { topic: 'plant/live', payload: 'x' });
    assert.deepEqual(receipt.queues, []);
  });
});
