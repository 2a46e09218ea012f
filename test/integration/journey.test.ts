// Issue 24, the message journey (docs/journey.md): one message followed through publish over
// MQTT, an HTTP delivery rejected into the DMQ, a redelivery from the DMQ consumed and acked over
// MQTT, and a replay copy — via the API and `sluice trace`; refusals; pruning with the message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { main } from '../../core/cli.ts';
import { Engine } from '../../core/engine/engine.ts';
import { SluiceError } from '../../core/errors.ts';
import { openTestEngine, tempDir, testEngineOptions } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { basic, startSecuredBroker } from './security-helpers.ts';

describe('message journey over the API and the CLI', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  let admin: string;
  let adminPassword: string;
  let mqttUrl: string;
  let id: string;
  const viewerPassword = 'viewer-password';

  const api = (method: string, path: string, body?: unknown, authorization = admin) =>
    fetch(`${broker.httpUrl}/api/v1${path}`, {
      method,
      headers: { authorization, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const json = async (response: Response) => {
    const text = await response.text();
    assert.ok(response.ok, `${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };

  before(async () => {
    ({ broker, cleanup, adminPassword, mqttUrl } = await startSecuredBroker());
    admin = basic('admin', adminPassword);
    // Sees queues and subscribes everywhere, but may not browse.
    broker.security.putRole('watcher', 'no browse', [{ actions: ['subscribe', 'consume'], patterns: ['#'] }]);
    await broker.security.createUser('viewer', viewerPassword, ['watcher']);
    await json(await api('POST', '/queues', { name: 'orders', subscriptions: ['plant/+/orders'] }));

    // Published over MQTT by plc-7.
    const plc = await mqtt.connectAsync(mqttUrl, { clientId: 'plc-7', username: 'admin', password: adminPassword });
    await plc.publishAsync('plant/line1/orders', JSON.stringify({ order: 17, sku: 'X-99' }), { qos: 1 });
    await plc.endAsync();
    const browsed = (await json(await api('GET', '/queues/orders/messages'))) as {
      messages: Array<{ message: { id: string } }>;
    };
    id = browsed.messages[0]!.message.id;

    // Delivered over HTTP and rejected: to the DMQ with the error.
    const received = (await json(await api('POST', '/queues/orders/messages:receive', { max: 1 }))) as {
      messages: Array<{ deliveryId: string }>;
    };
    const deliveryId = received.messages[0]!.deliveryId;
    await json(
      await api('POST', `/queues/orders/messages/${deliveryId}:reject`, { error: 'order 17: unknown SKU X-99' }),
    );
    // Redelivered from the DMQ, then delivered over MQTT and acked (PUBACK).
    await json(await api('POST', '/dead-messages:redeliver', { all: true }));
    const worker = await mqtt.connectAsync(mqttUrl, {
      clientId: 'worker-1',
      username: 'admin',
      password: adminPassword,
      clean: true,
    });
    const got = new Promise<void>((resolve) => worker.once('message', () => resolve()));
    await worker.subscribeAsync('$queue/orders', { qos: 1 });
    await got;
    await waitFor(() => broker.engine.getQueue('orders').counters.acked === 1, { what: 'the MQTT ack' });
    await worker.endAsync();
    // A replay copy into a new queue.
    await json(
      await api('POST', '/replays', {
        target: { queue: 'audit', create: {} },
        start: { kind: 'message-id', id },
        end: { kind: 'message-id', id },
      }),
    );
    await waitFor(() => broker.engine.queueByName('audit')?.depth === 1, { what: 'the replay copy' });
  });
  after(() => cleanup?.());

  it('the API shows each step in order, with protocol and consumer', async () => {
    const journey = (await json(await api('GET', `/messages/${id}/journey`))) as {
      message: { topic: string; protocol: string; publisher: string };
      steps: Array<Record<string, string | number | null>>;
      now: { entries: Array<{ queue: string; replayed: boolean }> };
    };
    assert.equal(journey.message.topic, 'plant/line1/orders');
    assert.equal(journey.message.protocol, 'mqtt');
    const steps = journey.steps.map((s) => [s['kind'], s['queue'], s['protocol'], s['consumer']]);
    assert.deepEqual(steps, [
      ['published', null, 'mqtt', null],
      ['routed', 'orders', null, null],
      ['delivered', 'orders', 'http', 'http:receive'],
      ['rejected', 'orders', 'http', 'http:receive'],
      ['dead-lettered', 'orders', 'http', 'http:receive'],
      ['redelivered', 'orders', null, null],
      ['delivered', 'orders', 'mqtt', 'mqtt:worker-1'],
      ['acked', 'orders', 'mqtt', 'mqtt:worker-1'],
      ['replayed', 'audit', null, null],
    ]);
    const [published, , , rejected, dead, redelivered, delivered] = journey.steps;
    assert.equal(rejected!['error'], 'order 17: unknown SKU X-99');
    assert.equal(dead!['reason'], 'rejected');
    assert.equal(dead!['dmq'], '#DMQ');
    assert.equal(redelivered!['deadMessageId'], dead!['deadMessageId']);
    assert.equal(delivered!['attempt'], 1);
    const times = journey.steps.map((s) => s['at'] as number);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'steps are in time order',
    );
    assert.ok((published!['at'] as number) <= (rejected!['at'] as number));
    assert.deepEqual(
      journey.now.entries.map((e) => [e.queue, e.replayed]),
      [['audit', true]],
    );
  });

  it('`sluice trace <id>` prints the same steps in order against the running broker', async () => {
    let stdout = '';
    let stderr = '';
    const code = await main(
      ['node', 'sluice', '--url', broker.httpUrl, '--auth', `admin:${adminPassword}`, 'trace', id],
      {
        out: (text) => (stdout += text),
        err: (text) => (stderr += text),
      },
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^Message ${id} on plant/line1/orders .* over mqtt`));
    const kinds = stdout
      .split('\n')
      .filter((line) => /^\s*\d+ /.test(line))
      .map((line) => line.trim().split(/\s+/)[2]);
    assert.deepEqual(kinds, [
      'published',
      'routed',
      'delivered',
      'rejected',
      'dead-lettered',
      'redelivered',
      'delivered',
      'acked',
      'replayed',
    ]);
    assert.match(stdout, /mqtt:worker-1/);
    assert.match(stdout, /error: order 17: unknown SKU X-99/);
    assert.match(stdout, /Now: in audit \(entry \d+, ready, replayed copy\)/);
  });

  it('an unknown id answers 404 problem+json with the catalog code, and the CLI exits 1', async () => {
    const response = await api('GET', '/messages/987654321/journey');
    assert.equal(response.status, 404);
    assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
    const problem = (await response.json()) as { code: string; status: number };
    assert.equal(problem.code, 'message-not-found');
    assert.equal(problem.status, 404);
    let stderr = '';
    const code = await main(
      ['node', 'sluice', '--url', broker.httpUrl, '--auth', `admin:${adminPassword}`, 'trace', '987654321'],
      { out: () => {}, err: (text) => (stderr += text) },
    );
    assert.equal(code, 1);
    assert.match(stderr, /not found/i);
  });

  it('a user without browse permission is refused (403)', async () => {
    const response = await api('GET', `/messages/${id}/journey`, undefined, basic('viewer', viewerPassword));
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as { code: string }).code, 'not-authorized');
  });
});

describe('journey pruning', () => {
  it('retention removing a message removes its journey, and the table stays bounded', async () => {
    const { dir, cleanup } = tempDir();
    const payload = 'x'.repeat(100);
    const retention = { maxAgeMs: null, maxLogBytes: 20 * 110, intervalMs: 20 };
    const engine = await Engine.open(testEngineOptions(dir, { retention }));
    try {
      await engine.createQueue('work', { subscriptions: ['work'] });
      const consumer = engine.consume('work', {
        label: 'test:worker',
        onDelivery: (d) => void consumer.ack(d.deliveryId),
      });
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) ids.push((await engine.publish({ topic: 'work', payload })).id);
      await waitFor(() => engine.getQueue('work').counters.acked === 300, { what: 'all acked' });
      const first = ids[0]!;
      await waitFor(() => engine.store.getMessage(Number(first)) === undefined, { what: 'the first message pruned' });
      assert.throws(
        () => engine.journeyOf(first),
        (error: unknown) => error instanceof SluiceError && error.code === 'message-not-found',
      );
      // Every step of a pruned message went with it: what is left belongs to the retained tail.
      await waitFor(() => engine.log.startId > Number(ids[250]!), { what: 'the log start past the first 250' });
      await waitFor(() => engine.journey.store.rowCount() <= 2 * (Number(ids[299]!) - engine.log.startId + 1), {
        what: () => `journey rows ${engine.journey.store.rowCount()} bounded by the retained messages`,
      });
      const last = engine.journeyOf(ids[299]!);
      assert.deepEqual(
        last.steps.map((s) => s.kind),
        ['published', 'routed', 'delivered', 'acked'],
      );
    } finally {
      await engine.close();
      cleanup();
    }
  });

  it('a dead copy keeps the journey after its log row is pruned; purging the copy removes it', async () => {
    const { dir, cleanup } = tempDir();
    const retention = { maxAgeMs: null, maxLogBytes: 10 * 110, intervalMs: 20 };
    const engine = await Engine.open(testEngineOptions(dir, { retention }));
    try {
      await engine.createQueue('work', { subscriptions: ['work'] });
      const consumer = engine.consume('work', {
        label: 'test:picky',
        onDelivery: (d) => void consumer.reject(d.deliveryId, 'no thanks'),
      });
      const dead = (await engine.publish({ topic: 'work', payload: 'x'.repeat(100) })).id;
      await waitFor(() => engine.deadMessages.counts().length === 1, { what: 'dead-lettered' });
      await consumer.close();
      for (let i = 0; i < 50; i++) await engine.publish({ topic: 'log-only', payload: 'y'.repeat(100) });
      await waitFor(() => engine.store.getMessage(Number(dead)) === undefined, { what: 'its log row pruned' });
      const journey = engine.journeyOf(dead);
      assert.equal(journey.message.inLog, false);
      assert.deepEqual(
        journey.steps.map((s) => s.kind),
        ['published', 'routed', 'delivered', 'rejected', 'dead-lettered'],
      );
      await engine.deadMessages.purge({ filter: { queue: 'work' } });
      assert.throws(
        () => engine.journeyOf(dead),
        (error: unknown) => error instanceof SluiceError,
      );
      assert.equal(engine.journey.store.events(Number(dead)).length, 0);
    } finally {
      await engine.close();
      cleanup();
    }
  });
});

describe('journey durability and the switch', () => {
  it('a journey survives a reopen, and a delivery in flight at the stop shows as returned', async () => {
    const test = await openTestEngine();
    try {
      await test.engine.createQueue('work', { subscriptions: ['work'] });
      const id = (await test.engine.publish({ topic: 'work', payload: 'p', publisher: 'plc', protocol: 'amqp' })).id;
      let delivered = false;
      test.engine.consume('work', { label: 'amqp:c/work', onDelivery: () => (delivered = true) });
      await waitFor(() => delivered, { what: 'the delivery' });
      const engine = await test.reopen();
      assert.deepEqual(
        engine.journeyOf(id).steps.map((s) => [s.kind, s.consumer]),
        [
          ['published', null],
          ['routed', null],
          ['delivered', 'amqp:c/work'],
          ['returned', null],
        ],
      );
      assert.equal(engine.journeyOf(id).message.publisher, 'plc');
    } finally {
      await test.cleanup();
    }
  });

  it('with journey recording off nothing is stored, and the journey still shows publish and routing', async () => {
    const test = await openTestEngine({ journey: false });
    try {
      await test.engine.createQueue('work', { subscriptions: ['work'] });
      const consumer = test.engine.consume('work', { onDelivery: (d) => void consumer.ack(d.deliveryId) });
      const id = (await test.engine.publish({ topic: 'work', payload: 'p' })).id;
      await waitFor(() => test.engine.getQueue('work').counters.acked === 1, { what: 'the ack' });
      assert.equal(test.engine.journey.store.rowCount(), 0);
      const journey = test.engine.journeyOf(id);
      assert.equal(journey.recording, false);
      assert.deepEqual(
        journey.steps.map((s) => s.kind),
        ['published'],
      );
    } finally {
      await test.cleanup();
    }
  });
});
