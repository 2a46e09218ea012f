// The whole broker as `sluice serve` runs it: every door open on one engine and one security model.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as connectAmqp, openSender, send } from './amqp-helpers.ts';
import { collect, connect as connectMqtt } from './mqtt-helpers.ts';

type Started = Awaited<ReturnType<typeof startTestBroker>>;
let started: Started;
const portOf = (name: string) => Number(/:(\d+)/.exec(started.broker.listeners.find((l) => l.name === name)!.url)![1]);

before(async () => {
  started = await startTestBroker();
});
after(async () => {
  await started.cleanup();
});

describe('one broker, every door', () => {
  test('createBroker opens HTTP, MQTT and AMQP listeners', () => {
    assert.deepEqual(
      started.broker.listeners.map((l) => l.name),
      ['http', 'mqtt', 'amqp'],
    );
  });

  test('an AMQP publish reaches an MQTT subscriber and an HTTP receiver of the same broker', async () => {
    const { broker } = started;
    await broker.service.call('queues.create', { name: 'erp', subscriptions: ['line/+/order'] });
    const mqtt = await connectMqtt(`mqtt://127.0.0.1:${portOf('mqtt')}`);
    const received = collect(mqtt);
    await mqtt.subscribeAsync('line/#', { qos: 1 });
    const amqp = await connectAmqp(portOf('amqp'));
    const sender = await openSender(amqp, 'topic://line/7/order');
    assert.equal((await send(sender, { body: 'order 42', content_type: 'text/plain' })).state, 'accepted');
    await waitFor(() => received.length === 1, { what: 'the MQTT subscriber' });
    assert.equal(received[0]!.payload, 'order 42');
    const response = await fetch(`${broker.httpUrl}/api/v1/queues/erp/messages:receive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ max: 1, waitMs: 1000 }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { messages: Array<{ message: { payload: string; protocol: string } }> };
    assert.equal(body.messages[0]?.message.payload, 'order 42');
    assert.equal(body.messages[0]?.message.protocol, 'amqp');
    const listed = await broker.service.call('connections.list', {});
    assert.deepEqual(listed.connections.map((c: { protocol: string }) => c.protocol).sort(), ['amqp', 'mqtt']);
    await mqtt.endAsync();
    await closeConnection(amqp);
  });
});

describe('bridges in the broker', () => {
  test('a configured bridge keeps its backlog on disk while its upstream is unreachable and reports why', async () => {
    const withBridge = await startTestBroker({
      bridges: [
        {
          name: 'plant',
          // Nothing listens on port 9 (discard) of loopback here: the upstream is down.
          upstream: { protocol: 'mqtt', url: 'mqtt://127.0.0.1:9' },
          direction: 'out',
          out: { topics: [{ filter: 'line1/#' }] },
          reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        },
      ],
    });
    try {
      const { broker } = withBridge;
      await broker.service.call('messages.publish', { topic: 'line1/temp', payload: '21.5' });
      await waitFor(
        async () => {
          const { bridges } = await broker.service.call('bridges.status', {});
          return bridges[0]?.backlog === 1 && bridges[0].lastError !== null;
        },
        { what: 'the bridge to report its backlog and the connection error' },
      );
      const { bridges } = await broker.service.call('bridges.status', {});
      assert.equal(bridges[0]!.connected, false);
      assert.equal(broker.engine.getQueue('bridge/plant').depth, 1);
      const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
      assert.match(metrics, /bridge/);
    } finally {
      await withBridge.cleanup();
    }
  });
});
