/**
 * The contract over IPC without Electron: request checking, operation routing, errors as plain
 * problem data, and batched, bounded live events. Also checks, at compile time, that the main
 * process's answer type is what the renderer's bridge expects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerEvent } from '../../core/api/contract.ts';
import type { IpcEvents } from '../../electron/channel.ts';
import { callOperation, IpcSubscriptions, parseIpcRequest, type IpcAnswer } from '../../electron/ipc.ts';
import type { BridgeAnswer } from '../../renderer/src/api/bridge.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';

// The renderer reads exactly what the main process answers (a type error here is a drift).
const _answersAgree: (answer: IpcAnswer) => BridgeAnswer = (answer) => answer;

describe('IPC requests', () => {
  test('only the three request kinds with the right field types are accepted', () => {
    assert.deepEqual(parseIpcRequest({ kind: 'call', op: 'health', input: {} }), {
      kind: 'call',
      op: 'health',
      input: {},
    });
    assert.deepEqual(parseIpcRequest({ kind: 'subscribe', id: 3, stream: 'events.stream', input: { stats: true } }), {
      kind: 'subscribe',
      id: 3,
      stream: 'events.stream',
      input: { stats: true },
    });
    assert.deepEqual(parseIpcRequest({ kind: 'unsubscribe', id: 3 }), { kind: 'unsubscribe', id: 3 });
    for (const bad of [
      null,
      'health',
      { kind: 'call' },
      { kind: 'call', op: 7 },
      { kind: 'subscribe', id: 1.5, stream: 'events.stream' },
      { kind: 'unsubscribe', id: '1' },
      { kind: 'eval', code: 'process.exit()' },
    ])
      assert.equal(parseIpcRequest(bad), undefined, JSON.stringify(bad));
  });
});

describe('IPC against a real broker', () => {
  let ctx: Awaited<ReturnType<typeof startTestBroker>>;
  before(async () => {
    ctx = await startTestBroker({}, { rateIntervalMs: 50 });
  });
  after(() => ctx?.cleanup());

  test('an operation runs through the service and answers its output', async () => {
    const created = await callOperation(ctx.broker.service, 'queues.create', {
      name: 'orders',
      subscriptions: ['a/#'],
    });
    assert.equal(created.ok, true);
    const listed = await callOperation(ctx.broker.service, 'queues.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.value as { queues: { name: string }[] }).queues.map((q) => q.name),
      ['orders'],
    );
  });

  test('a refusal is a problem with the catalog status and code, not a thrown error', async () => {
    const missing = await callOperation(ctx.broker.service, 'queues.get', { name: 'nope' });
    assert.equal(missing.ok, false);
    if (missing.ok) return;
    assert.equal(missing.problem.code, 'queue-not-found');
    assert.equal(missing.problem.status, 404);
    assert.match(missing.problem.detail, /nope/);

    const invalid = await callOperation(ctx.broker.service, 'queues.create', { name: 'bad name' });
    assert.ok(!invalid.ok && invalid.problem.code === 'invalid-queue-name');
  });

  test('unknown operation names and event operations are refused by call', async () => {
    for (const op of ['constructor', '__proto__', 'queues.drop', 'events.stream']) {
      const answer = await callOperation(ctx.broker.service, op, {});
      assert.ok(!answer.ok && answer.problem.code === 'route-not-found', op);
    }
  });

  test('a streamed operation (export) answers its lines as an array', async () => {
    const answer = await callOperation(ctx.broker.service, 'dmq.export', {});
    assert.ok(answer.ok);
    assert.deepEqual(answer.value, []);
  });

  test('live events arrive batched, and stop when unsubscribed', async () => {
    const sent: IpcEvents[] = [];
    const subscriptions = new IpcSubscriptions(ctx.broker.service, (message) => sent.push(message), {
      flushMs: 20,
      maxBatch: 1000,
    });
    subscriptions.subscribe(7, 'events.stream', { topics: ['a/#'] });
    for (let i = 0; i < 20; i++) await callOperation(ctx.broker.service, 'messages.publish', { topic: `a/${i}` });
    const events = () => sent.flatMap((batch) => batch.events as BrokerEvent[]);
    await waitFor(() => events().length === 20, { what: '20 message events' });
    assert.ok(sent.every((batch) => batch.id === 7));
    assert.ok(sent.length < 20, 'events share IPC messages');

    subscriptions.unsubscribe(7);
    assert.equal(subscriptions.size, 0);
    await callOperation(ctx.broker.service, 'messages.publish', { topic: 'a/late' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(events().length, 20);
  });

  test('a full batch drops events and says how many, like the HTTP door', async () => {
    const sent: IpcEvents[] = [];
    const subscriptions = new IpcSubscriptions(ctx.broker.service, (message) => sent.push(message), {
      flushMs: 200,
      maxBatch: 5,
    });
    subscriptions.subscribe(1, 'events.stream', { topics: ['b/#'] });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => callOperation(ctx.broker.service, 'messages.publish', { topic: `b/${i}` })),
    );
    await waitFor(() => sent.length > 0, { what: 'a batch' });
    const events = sent.flatMap((batch) => batch.events as BrokerEvent[]);
    const dropped = events.find((event) => event.type === 'dropped');
    assert.equal(events.filter((event) => event.type === 'message').length, 5);
    assert.deepEqual(dropped, { type: 'dropped', dropped: 7, totalDropped: 7 });
    subscriptions.closeAll();
  });

  test('subscribing to something that is not an event operation is refused', () => {
    const subscriptions = new IpcSubscriptions(ctx.broker.service, () => undefined);
    assert.throws(() => subscriptions.subscribe(1, 'queues.list', {}), { code: 'invalid-input' });
    assert.throws(() => subscriptions.subscribe(1, 'events.stream', { topics: ['a/#/b'] }), {
      code: 'invalid-topic-filter',
    });
    assert.equal(subscriptions.size, 0);
  });
});
