import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import type { ConfigInput } from '../../core/config.ts';
import type { PushStatus } from '../../core/schema/push-config.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as connectAmqp, openSender, send } from './amqp-helpers.ts';
import { TestEndpoint } from './push-helpers.ts';

// A real HTTP endpoint on 127.0.0.1, started by each test; the broker's push consumer calls it.
// Backoffs are tens of milliseconds so each fault plays out in well under a second.

const fastRetry = { initialDelayMs: 20, maxDelayMs: 100 };

async function brokerPushingTo(
  endpoint: TestEndpoint,
  options: { maxRedelivery?: number; push?: Record<string, unknown> } = {},
): Promise<{ broker: Broker; cleanup: () => Promise<void> }> {
  const flags: ConfigInput = {
    queues: [{ name: 'erp', subscriptions: ['plant/#'], maxRedelivery: options.maxRedelivery ?? 10 }],
    push: [
      { name: 'erp-endpoint', queue: 'erp', url: endpoint.url, retry: fastRetry, timeoutMs: 2000, ...options.push },
    ],
  };
  return startTestBroker(flags);
}

async function pushStatus(broker: Broker): Promise<PushStatus> {
  const { pushConsumers } = await broker.service.call('push.status', {});
  return pushConsumers[0]!;
}

async function publishAll(broker: Broker, count: number, topic = 'plant/line1/orders'): Promise<string[]> {
  const bodies = Array.from({ length: count }, (_, i) => `order-${i}`);
  for (const body of bodies) await broker.engine.publish({ topic, payload: body });
  return bodies;
}

function deadMessages(broker: Broker) {
  return broker.service.call('dmq.list', { queue: 'erp' });
}

function portOf(broker: Broker, scheme: string): number {
  const url = broker.listeners.flatMap((l) => l.url.split(' ')).find((u) => u.startsWith(`${scheme}://`));
  return Number(new URL(url!).port);
}

describe('happy path', () => {
  const endpoint = new TestEndpoint();
  let broker: Broker;
  let cleanup: () => Promise<void>;
  before(async () => {
    await endpoint.up();
    ({ broker, cleanup } = await brokerPushingTo(endpoint));
  });
  after(async () => {
    await cleanup();
    await endpoint.down();
  });

  test('messages published over MQTT, AMQP and HTTP each arrive once, with their headers, in queue order', async () => {
    const perProtocol = 15;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${portOf(broker, 'mqtt')}`, { protocolVersion: 5 });
    for (let i = 0; i < perProtocol; i++)
      await client.publishAsync('plant/mqtt', `mqtt-${i}`, { qos: 1, properties: { userProperties: { line: 'L1' } } });
    await client.endAsync();

    const amqp = await connectAmqp(portOf(broker, 'amqp'));
    const sender = await openSender(amqp, 'topic://plant/amqp');
    for (let i = 0; i < perProtocol; i++)
      await send(sender, { body: `amqp-${i}`, application_properties: { line: 'L2' } });
    await closeConnection(amqp);

    for (let i = 0; i < perProtocol; i++) {
      const answer = await fetch(`${broker.httpUrl}/api/v1/topics/plant/http`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'sluice-line': 'L3' },
        body: `http-${i}`,
      });
      assert.equal(answer.ok, true, await answer.text());
    }

    await waitFor(() => endpoint.acked().length >= perProtocol * 3, {
      what: () => `${perProtocol * 3} deliveries (${endpoint.acked().length})`,
    });
    const expected = ['mqtt', 'amqp', 'http'].flatMap((p) =>
      Array.from({ length: perProtocol }, (_, i) => `${p}-${i}`),
    );
    assert.deepEqual(endpoint.acked(), expected, 'each once, in publish order (concurrency 1)');
    const ids = endpoint.seen.map((r) => Number(r.headers['sluice-message-id']));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      'message ids rise',
    );
    const first = endpoint.seen[0]!;
    assert.equal(first.method, 'POST');
    assert.equal(first.headers['sluice-topic'], 'plant/mqtt');
    assert.equal(first.headers['sluice-queue'], 'erp');
    assert.equal(first.headers['sluice-delivery-count'], '1');
    assert.equal(first.headers['sluice-line'], 'L1');
    assert.equal(endpoint.seen[perProtocol]!.headers['sluice-line'], 'L2');
    assert.equal(endpoint.seen[2 * perProtocol]!.headers['sluice-line'], 'L3');
    assert.equal(endpoint.seen[2 * perProtocol]!.headers['content-type'], 'text/plain');
    // The endpoint answers before the broker commits the ack: wait for the count, do not race it.
    await waitFor(async () => (await pushStatus(broker)).delivered === perProtocol * 3, { what: 'delivered count' });
    const status = await pushStatus(broker);
    assert.equal(status.lastStatusCode, 200);
    assert.equal(status.state, 'delivering');
    await waitFor(() => broker.engine.getQueue('erp').depth === 0, { what: 'queue drained' });
  });
});

describe('faults', () => {
  const endpoint = new TestEndpoint();
  before(() => endpoint.up());
  after(() => endpoint.down());

  async function withBroker(
    options: Parameters<typeof brokerPushingTo>[1],
    work: (broker: Broker) => Promise<void>,
  ): Promise<void> {
    endpoint.seen.length = 0;
    const { broker, cleanup } = await brokerPushingTo(endpoint, options);
    try {
      await work(broker);
    } finally {
      await cleanup();
      endpoint.behave = () => ({ kind: 'status', status: 200 });
    }
  }

  test('an endpoint answering 500 for a while gets every message, in order, once it recovers; retries are counted', async () => {
    endpoint.behave = ({ index }) =>
      index < 5 ? { kind: 'status', status: 500, body: 'maintenance' } : { kind: 'status', status: 200 };
    await withBroker({}, async (broker) => {
      const bodies = await publishAll(broker, 10);
      await waitFor(() => endpoint.acked().length >= 10, { what: () => `10 acked (${endpoint.acked().length})` });
      assert.deepEqual(endpoint.acked(), bodies);
      assert.deepEqual(
        endpoint.seen.slice(0, 6).map((r) => r.body),
        Array(6).fill('order-0'),
        'the head message is retried until it goes through',
      );
      assert.equal(endpoint.seen[5]!.headers['sluice-delivery-count'], '6');
      await waitFor(async () => (await pushStatus(broker)).delivered === 10, { what: 'delivered count' });
      assert.equal((await pushStatus(broker)).retried, 5);
      assert.equal((await deadMessages(broker)).deadMessages.length, 0);
    });
  });

  test('a 422 answer sends the message to the DMQ with the status and the start of the body; the rest go on', async () => {
    endpoint.behave = ({ body }) =>
      body === 'order-1'
        ? { kind: 'status', status: 422, body: 'field "qty" must be positive' }
        : { kind: 'status', status: 200 };
    await withBroker({}, async (broker) => {
      await publishAll(broker, 3);
      await waitFor(() => endpoint.acked().length >= 2, { what: '2 acked' });
      await waitFor(async () => (await deadMessages(broker)).deadMessages.length === 1, { what: 'one dead message' });
      const [dead] = (await deadMessages(broker)).deadMessages;
      assert.equal(dead!.reason, 'rejected');
      assert.match(dead!.error ?? '', /^HTTP 422: field "qty" must be positive/);
      assert.equal(dead!.message.payload, 'order-1');
      assert.deepEqual(endpoint.acked(), ['order-0', 'order-2']);
      await waitFor(async () => (await pushStatus(broker)).rejected === 1, { what: 'rejected count' });
      assert.ok((await pushStatus(broker)).alarms.includes('messages-rejected'));
    });
  });

  test('a request with no answer within the timeout is abandoned and retried', async () => {
    endpoint.behave = ({ index }) => (index === 0 ? { kind: 'hang' } : { kind: 'status', status: 200 });
    await withBroker({ push: { timeoutMs: 300 } }, async (broker) => {
      const bodies = await publishAll(broker, 3);
      await waitFor(() => endpoint.acked().length >= 3, { what: '3 acked' });
      assert.deepEqual(endpoint.acked(), bodies);
      assert.equal(endpoint.seen[0]!.body, 'order-0');
      assert.equal(endpoint.seen[1]!.body, 'order-0');
      const status = await pushStatus(broker);
      assert.equal(status.retried, 1);
      assert.match(status.lastError?.message ?? '', /no answer within 300 ms/);
    });
  });

  test('a connection closed in the middle of a request is retried', async () => {
    endpoint.behave = ({ index }) => (index < 2 ? { kind: 'destroy' } : { kind: 'status', status: 200 });
    await withBroker({}, async (broker) => {
      const bodies = await publishAll(broker, 4);
      await waitFor(() => endpoint.acked().length >= 4, { what: '4 acked' });
      assert.deepEqual(endpoint.acked(), bodies);
      assert.equal((await pushStatus(broker)).retried, 2);
    });
  });

  test('while the endpoint is down the backlog waits on disk, and it drains in order when it is back', async () => {
    await withBroker({ maxRedelivery: 100_000 }, async (broker) => {
      await endpoint.down();
      try {
        const bodies = await publishAll(broker, 50);
        assert.equal(broker.engine.getQueue('erp').depth, 50);
        await waitFor(async () => (await pushStatus(broker)).state === 'endpoint-down', { what: 'endpoint-down' });
        assert.match((await pushStatus(broker)).lastError?.message ?? '', /ECONNREFUSED/);
        await endpoint.up();
        await waitFor(() => endpoint.acked().length >= 50, { what: () => `50 acked (${endpoint.acked().length})` });
        assert.deepEqual(endpoint.acked(), bodies);
        await waitFor(() => broker.engine.getQueue('erp').depth === 0, { what: 'queue drained' });
      } finally {
        await endpoint.up().catch(() => {});
      }
    });
  });

  test('a message the endpoint keeps failing goes to the DMQ with reason max-redelivery and the last error', async () => {
    endpoint.behave = ({ body }) =>
      body === 'order-0' ? { kind: 'status', status: 503, body: 'SAP busy' } : { kind: 'status', status: 200 };
    await withBroker({ maxRedelivery: 2 }, async (broker) => {
      await publishAll(broker, 2);
      await waitFor(() => endpoint.acked().length >= 1, { what: 'order-1 acked' });
      const [dead] = (await deadMessages(broker)).deadMessages;
      assert.equal(dead!.reason, 'max-redelivery');
      assert.equal(dead!.deliveryCount, 3);
      assert.equal(dead!.error, 'HTTP 503: SAP busy');
      assert.equal(endpoint.seen.filter((r) => r.body === 'order-0').length, 3);
    });
  });

  test('a Retry-After answer holds the next attempt back for as long as it says', async () => {
    endpoint.behave = ({ index }) =>
      index === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : { kind: 'status', status: 200 };
    const arrivals: number[] = [];
    const behave = endpoint.behave;
    endpoint.behave = (request) => {
      arrivals.push(Date.now());
      return behave(request);
    };
    await withBroker({}, async (broker) => {
      await publishAll(broker, 1);
      await waitFor(() => endpoint.acked().length >= 1, { what: 'acked after Retry-After', timeoutMs: 10_000 });
      assert.ok(arrivals[1]! - arrivals[0]! >= 950, `second attempt ${arrivals[1]! - arrivals[0]!} ms after the 429`);
    });
  });
});
