import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Connection } from 'rhea';
import { waitFor } from '../helpers/wait.ts';
import {
  amqpCollect,
  amqpSend,
  connectAmqp,
  orderedWithRepeats,
  startRabbit,
  withBridges,
  type Rabbit,
} from './bridge-helpers.ts';
import { peerSkip } from '../helpers/peers.ts';

// Debian's RabbitMQ 3.10 with its AMQP 1.0 plugin as the upstream: one test-owned node for the
// file (about 10 s to start), stopped and started again for the outage. Addresses are the 3.x
// plugin's: /queue/<name> declares a durable queue; RabbitMQ 4 spells it /queues/<name>.

const fast = { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } };

describe('RabbitMQ over AMQP 1.0', { skip: peerSkip('rabbitmq') }, () => {
  let rabbit: Rabbit;
  let client: Connection;
  before(async () => {
    rabbit = await startRabbit();
    client = await connectAmqp(rabbit.port);
  });
  after(async () => {
    client?.close();
    await rabbit?.cleanup();
  });

  const upstream = () => ({ protocol: 'amqp' as const, host: '127.0.0.1', port: rabbit.port });
  const guest = { username: 'guest', password: 'guest' };

  test('outbound: messages published while RabbitMQ is down arrive in order once it is back, accepted before they leave the backlog', async (t) => {
    const sluice = await withBridges(t, [
      {
        name: 'mes',
        upstream: { ...upstream(), targetAddress: '/queue/bridge-out', subjectSeparator: '.' },
        credentials: guest,
        out: { topics: [{ filter: 'line1/#', localPrefix: 'line1/', remotePrefix: 'plant/line1/' }], window: 16 },
        ...fast,
      },
    ]);
    await waitFor(() => sluice.status('mes').connected, { timeoutMs: 10_000, what: 'bridge connected' });
    await sluice.engine.publish({ topic: 'line1/warmup', payload: 'warmup', headers: { unit: 'C' } });
    await waitFor(() => sluice.status('mes').forwarded === 1, { what: 'warm-up message forwarded' });

    await rabbit.stop();
    const outageStarted = Date.now();
    await waitFor(() => !sluice.status('mes').connected, { what: 'bridge sees the outage' });
    const sent = ['warmup'];
    for (let i = 0; i < 300; i++) {
      sent.push(`a${i}`);
      await sluice.engine.publish({ topic: `line1/cell${i % 3}`, payload: `a${i}` });
    }
    assert.equal(sluice.status('mes').backlog, 300);
    assert.ok(sluice.status('mes').lastError);
    await rabbit.start();
    const outageMs = Date.now() - outageStarted;
    client.close();
    client = await connectAmqp(rabbit.port);
    await waitFor(() => sluice.status('mes').backlog === 0, { timeoutMs: 30_000, what: 'backlog forwarded' });

    const received = amqpCollect(client, '/queue/bridge-out');
    await waitFor(() => new Set(received.map((m) => m.payload)).size === 301, {
      timeoutMs: 10_000,
      what: '301 messages in the RabbitMQ queue',
    });
    const repeats = orderedWithRepeats(
      received.map((m) => m.payload),
      sent,
    );
    console.warn(`AMQP outage ${outageMs} ms, 300 messages, ${repeats} repeats, resent ${sluice.status('mes').resent}`);
    assert.ok(repeats <= sluice.status('mes').resent);
    assert.equal(received[0]!.subject, 'plant.line1.warmup', 'subject is the mapped topic, RabbitMQ style');
    assert.equal(received[0]!.properties.unit, 'C');
    assert.equal(received[0]!.properties['sluice-origin'], sluice.bridges.brokerId);
    await sluice.close();
  });

  test('inbound: messages from a durable RabbitMQ queue are published into Sluice in order and accepted after commit', async (t) => {
    const sluice = await withBridges(t, [
      {
        name: 'orders',
        upstream: { ...upstream(), sourceAddresses: ['/queue/bridge-in'], subjectSeparator: '.' },
        credentials: guest,
        direction: 'in',
        in: { topics: [{ filter: 'erp/orders/#', remotePrefix: 'erp/', localPrefix: 'line1/' }] },
        ...fast,
      },
    ]);
    await sluice.engine.createQueue('orders', { subscriptions: ['line1/orders/#'] });
    await waitFor(() => sluice.status('orders').connected, { timeoutMs: 10_000, what: 'bridge connected' });
    const messages = Array.from({ length: 200 }, (_, i) => ({
      subject: `erp.orders.o${i % 5}`,
      payload: `o${i}`,
      properties: { customer: `k${i}` },
    }));
    await amqpSend(client, '/queue/bridge-in', messages);
    await waitFor(() => sluice.engine.getQueue('orders').depth === 200, { what: '200 orders in Sluice' });
    const stored = sluice.engine.browseQueue('orders', { limit: 1000 });
    assert.deepEqual(
      stored.map((e) => e.message.payload.toString()),
      messages.map((m) => m.payload),
    );
    assert.equal(stored[7]!.message.topic, 'line1/orders/o2');
    assert.equal(stored[7]!.message.headers.customer, 'k7');
    // Everything was accepted upstream: nothing is left in the RabbitMQ queue for a new reader.
    await sluice.bridges.close();
    const leftover = amqpCollect(client, '/queue/bridge-in');
    await amqpSend(client, '/queue/bridge-in', [{ subject: 'erp.orders.marker', payload: 'marker' }]);
    await waitFor(() => leftover.length >= 1, { what: 'marker read back' });
    assert.deepEqual(
      leftover.map((m) => m.payload),
      ['marker'],
    );
    await sluice.close();
  });

  test('both ways on one RabbitMQ queue: own messages coming back are dropped by origin, foreign ones cross once', async (t) => {
    const sluice = await withBridges(t, [
      {
        name: 'loop',
        upstream: { ...upstream(), targetAddress: '/queue/bridge-loop', sourceAddresses: ['/queue/bridge-loop'] },
        credentials: guest,
        direction: 'both',
        out: { topics: [{ filter: 'shared/#' }] },
        in: { topics: [{ filter: 'shared/#' }] },
        ...fast,
      },
    ]);
    await sluice.engine.createQueue('local-shared', { subscriptions: ['shared/#'] });
    await waitFor(() => sluice.status('loop').connected, { timeoutMs: 10_000, what: 'bridge connected' });
    for (let i = 0; i < 10; i++) await sluice.engine.publish({ topic: 'shared/local', payload: `mine${i}` });
    await amqpSend(
      client,
      '/queue/bridge-loop',
      Array.from({ length: 10 }, (_, i) => ({ subject: 'shared/remote', payload: `theirs${i}` })),
    );
    await waitFor(() => sluice.status('loop').received === 10, { what: 'foreign messages received' });
    await waitFor(() => sluice.status('loop').loopsPrevented >= 20, {
      what: 'own messages dropped inbound and foreign ones held back outbound',
    });
    const local = sluice.engine.browseQueue('local-shared', { limit: 100 }).map((e) => e.message.payload.toString());
    assert.deepEqual(local.filter((p) => p.startsWith('mine')).length, 10, 'own messages once, never re-published');
    assert.deepEqual(local.filter((p) => p.startsWith('theirs')).length, 10);
    assert.equal(sluice.status('loop').forwarded, 10, 'foreign messages were not sent back out');
    await sluice.close();
  });

  test('refused credentials give a refused status with the reason, and the bridge keeps retrying slowly', async (t) => {
    const sluice = await withBridges(t, [
      {
        name: 'badpass',
        upstream: { ...upstream(), targetAddress: '/queue/never' },
        credentials: { username: 'guest', password: 'wrong' },
        out: { topics: [{ filter: 'z/#' }] },
        reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
      },
    ]);
    await waitFor(() => sluice.status('badpass').state === 'refused', { timeoutMs: 10_000, what: 'refused state' });
    const status = sluice.status('badpass');
    assert.match(status.lastError!.message, /unauthorized|authenticat/i);
    assert.deepEqual(status.alarms, ['credentials-refused']);
    await waitFor(() => sluice.status('badpass').connectFailures >= 2, { what: 'a second attempt' });
    await sluice.close();
  });
});
