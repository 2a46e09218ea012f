// HTTP messaging over real sockets: raw publish with headers, pull receive with ack, reject,
// release and the visibility timeout, and the refusals (problem+json) around them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { contract } from '../../core/api/contract.ts';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { peerSkip } from '../helpers/peers.ts';

const run = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('HTTP messaging', () => {
  let broker: Broker;
  let base: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker({ limits: { maxMessageBytes: 8 * 1024 } }));
    base = broker.httpUrl;
    await broker.engine.createQueue('orders', { subscriptions: ['plant/+/orders'], maxRedelivery: 1 });
    await broker.engine.createQueue('tiny', {
      subscriptions: ['tiny'],
      maxDepthMessages: 1,
      overflow: 'reject-publisher',
    });
  });
  after(() => cleanup());

  async function post(path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(base + path, {
      method: 'POST',
      headers: {
        ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      json: (text ? JSON.parse(text) : {}) as Json,
    };
  }
  const receive = async (input: Record<string, unknown> = {}) => {
    const answer = await post('/api/v1/queues/orders/messages:receive', input);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    return contract['queues.receive'].output.parse(answer.json).messages;
  };

  it('a raw publish answers 201 with the id after the commit; Content-Type and Sluice-* headers become properties', async () => {
    const published = await post('/api/v1/topics/plant/a/orders', 'raw body', {
      'content-type': 'text/plain',
      'sluice-ttl': '60000',
      'sluice-priority': '7',
      'sluice-dmq-eligible': 'false',
      'sluice-correlation-id': 'c-1',
      'sluice-line': '7',
    });
    assert.equal(published.status, 201, JSON.stringify(published.json));
    assert.deepEqual(published.json.queues, ['orders']);
    const [got] = await receive();
    assert.equal(got!.message.id, published.json.id);
    assert.equal(got!.message.payload, 'raw body');
    assert.equal(got!.message.contentType, 'text/plain');
    assert.equal(got!.message.priority, 7);
    assert.equal(got!.message.dmqEligible, false);
    assert.equal(got!.message.correlationId, 'c-1');
    assert.deepEqual(got!.message.headers, { line: '7' });
    assert.ok(got!.message.expiresAt !== null);
    const acked = await post(`/api/v1/queues/orders/messages/${got!.deliveryId}:ack`);
    assert.equal(acked.status, 200);
    assert.equal(broker.engine.getQueue('orders').depth, 0);
  });

  it('curl --data-binary publishes the bytes as they are', { skip: peerSkip('curl') }, async () => {
    const { stdout } = await run('curl', [
      '-sS',
      '--data-binary',
      'bin\x01\x02',
      '-H',
      'content-type: application/octet-stream',
      `${base}/api/v1/topics/plant/b/orders`,
    ]);
    const { id } = contract['topics.publish'].output.parse(JSON.parse(stdout));
    const [got] = await receive();
    assert.equal(got!.message.id, id);
    assert.equal(Buffer.from(got!.message.payload, 'utf8').toString(), 'bin\x01\x02');
    await post(`/api/v1/queues/orders/messages/${got!.deliveryId}:ack`);
  });

  it('a full queue refuses the publish with 507 problem+json', async () => {
    assert.equal((await post('/api/v1/topics/tiny', 'one')).status, 201);
    const refused = await post('/api/v1/topics/tiny', 'two');
    assert.equal(refused.status, 507);
    assert.equal(refused.type, 'application/problem+json');
    assert.equal(refused.json.code, 'queue-full');
  });

  it('an empty queue answers no messages at once; a long poll gets one published while it waits', async () => {
    assert.deepEqual(await receive(), []);
    const waiting = receive({ waitMs: 5000 });
    await new Promise((resolve) => setImmediate(resolve));
    await broker.engine.publish({ topic: 'plant/c/orders', payload: 'late' });
    const [got] = await waiting;
    assert.equal(got!.message.payload, 'late');
    await post(`/api/v1/queues/orders/messages/${got!.deliveryId}:ack`);
  });

  it('receive hands out at most max messages, each hidden from other receivers until settled', async () => {
    for (const n of [1, 2, 3]) await broker.engine.publish({ topic: 'plant/d/orders', payload: `m${n}` });
    const first = await receive({ max: 2 });
    assert.deepEqual(
      first.map((m) => m.message.payload),
      ['m1', 'm2'],
    );
    const second = await receive({ max: 5 });
    assert.deepEqual(
      second.map((m) => m.message.payload),
      ['m3'],
    );
    for (const m of [...first, ...second]) await post(`/api/v1/queues/orders/messages/${m.deliveryId}:ack`);
  });

  it('a receiver that vanishes: the visibility timeout redelivers with the count, and its stale id is refused', async () => {
    await broker.engine.publish({ topic: 'plant/e/orders', payload: 'lost' });
    const [first] = await receive({ visibilityTimeoutMs: 100 });
    assert.equal(first!.deliveryCount, 1);
    let again: Json[] = [];
    await waitFor(async () => (again = await receive()).length > 0, { what: 'the redelivery' });
    assert.equal(again[0].message.id, first!.message.id);
    assert.equal(again[0].deliveryCount, 2);
    const stale = await post(`/api/v1/queues/orders/messages/${first!.deliveryId}:ack`);
    assert.equal(stale.status, 404);
    assert.equal(stale.json.code, 'unknown-delivery');
    assert.equal((await post(`/api/v1/queues/orders/messages/${again[0].deliveryId}:ack`)).status, 200);
  });

  it('a timed-out delivery past max redelivery is dead-lettered with reason max-redelivery', async () => {
    await broker.engine.publish({ topic: 'plant/f/orders', payload: 'poison' });
    await receive({ visibilityTimeoutMs: 100 });
    await waitFor(async () => (await receive({ visibilityTimeoutMs: 100 })).length > 0, { what: 'redelivery' });
    await waitFor(() => broker.engine.deadMessages.counts().some((c) => c.queue === 'orders'), { what: 'the DMQ' });
    const [dead] = broker.engine.deadMessages.list({ queue: 'orders', reason: 'max-redelivery' }, { limit: 10 });
    assert.equal(dead!.message.payload.toString(), 'poison');
    assert.equal(dead!.deliveryCount, 2);
  });

  it('reject sends the message to the DMQ with the error; release gives it back without counting', async () => {
    await broker.engine.publish({ topic: 'plant/g/orders', payload: 'released' });
    const [held] = await receive();
    assert.equal((await post(`/api/v1/queues/orders/messages/${held!.deliveryId}:release`)).json.outcome, 'release');
    const [back] = await receive();
    assert.equal(back!.message.id, held!.message.id);
    assert.equal(back!.deliveryCount, 1);
    const rejected = await post(`/api/v1/queues/orders/messages/${back!.deliveryId}:reject`, { error: 'bad order' });
    assert.equal(rejected.status, 200);
    const [dead] = broker.engine.deadMessages.list({ queue: 'orders', reason: 'rejected' }, { limit: 10 });
    assert.equal(dead!.error, 'bad order');
    assert.equal(dead!.consumer, 'http:receive');
  });

  describe('refusals are problem+json', () => {
    const cases: Array<[string, () => Promise<{ status: number; type: string | null; json: Json }>, number, string]> = [
      ['receive from an unknown queue', () => post('/api/v1/queues/nope/messages:receive', {}), 404, 'queue-not-found'],
      ['publish to an invalid topic', () => post('/api/v1/topics/a/%23', 'x'), 400, 'invalid-topic'],
      [
        'a bad Sluice-Priority header',
        () => post('/api/v1/topics/a', 'x', { 'sluice-priority': 'high' }),
        400,
        'invalid-input',
      ],
      ['a payload over the message limit', () => post('/api/v1/topics/a', 'x'.repeat(9000)), 413, 'payload-too-large'],
      ['ack with a malformed delivery id', () => post('/api/v1/queues/orders/messages/12:ack'), 400, 'invalid-input'],
      [
        'ack of a delivery never issued',
        () => post('/api/v1/queues/orders/messages/12-0123456789ab:ack'),
        404,
        'unknown-delivery',
      ],
      [
        'receive with a bad max',
        () => post('/api/v1/queues/orders/messages:receive', { max: 0 }),
        400,
        'invalid-input',
      ],
    ];
    for (const [what, call, status, code] of cases)
      it(`${what} → ${status} ${code}`, async () => {
        const answer = await call();
        assert.equal(answer.status, status, JSON.stringify(answer.json));
        assert.equal(answer.type, 'application/problem+json');
        assert.equal(answer.json.code, code);
      });
  });
});
