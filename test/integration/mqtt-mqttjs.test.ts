import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as rawConnect } from 'node:net';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { tempDir } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker, selfSignedCertificate } from './mqtt-helpers.ts';
import { peerSkip } from '../helpers/peers.ts';

describe('qos', () => {
  test('QoS 0, 1 and 2 publishes arrive at min(publish QoS, subscription QoS)', async () => {
    const broker = await openMqttBroker();
    const sub = await connect(broker.url(), { clientId: 'qos-sub' });
    const received = collect(sub);
    await sub.subscribeAsync({ 'q/two': { qos: 2 }, 'q/one': { qos: 1 } });
    const pub = await connect(broker.url(), { clientId: 'qos-pub' });
    for (const qos of [0, 1, 2] as const) {
      await pub.publishAsync('q/two', `two-${qos}`, { qos });
      await pub.publishAsync('q/one', `one-${qos}`, { qos });
    }
    await waitFor(() => received.length === 6, { what: '6 messages' });
    const byPayload = Object.fromEntries(received.map((m) => [m.payload, m.qos]));
    assert.deepEqual(byPayload, { 'two-0': 0, 'two-1': 1, 'two-2': 2, 'one-0': 0, 'one-1': 1, 'one-2': 1 });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await broker.close();
  });

  test('a PUBACKed message is in the engine log before the publisher sees the ack', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'durable-pub' });
    await pub.publishAsync('log/x', 'kept', { qos: 1 });
    const stored = broker.engine.store.readLog(1, Number.MAX_SAFE_INTEGER, 10).map((m) => m.topic);
    assert.ok(stored.includes('log/x'));
    await pub.endAsync();
    await broker.close();
  });
});

describe('retain', () => {
  test('a retained message is sent on subscribe and survives a broker restart', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'ret-pub' });
    await pub.publishAsync('ret/a', 'last value', { qos: 1, retain: true });
    await pub.endAsync();
    await broker.restart();
    const sub = await connect(broker.url(), { clientId: 'ret-sub' });
    const received = collect(sub);
    await sub.subscribeAsync('ret/#', { qos: 1 });
    await waitFor(() => received.length === 1, { what: 'retained message' });
    assert.deepEqual(received[0], { topic: 'ret/a', payload: 'last value', qos: 1, dup: false, retain: true });
    await sub.endAsync();
    await broker.close();
  });
});

describe('will', () => {
  test('the will is published when a client drops without DISCONNECT', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'will-watcher' });
    const received = collect(watcher);
    await watcher.subscribeAsync('status/#', { qos: 1 });
    const doomed = await connect(broker.url(), {
      clientId: 'will-doomed',
      will: { topic: 'status/doomed', payload: Buffer.from('offline'), qos: 1, retain: false },
    });
    doomed.stream.destroy();
    await waitFor(() => received.some((m) => m.payload === 'offline'), { what: 'will message' });
    doomed.end(true);
    await watcher.endAsync();
    await broker.close();
  });
});

describe('persistent sessions', () => {
  test('subscriptions and queued messages survive a broker restart (engine queue mqtt/<clientId>)', async () => {
    const broker = await openMqttBroker();
    const first = await connect(broker.url(), { clientId: 'keeper', clean: false });
    await first.subscribeAsync('orders/#', { qos: 1 });
    await first.endAsync();
    const pub = await connect(broker.url(), { clientId: 'keeper-pub' });
    for (let i = 0; i < 20; i++) await pub.publishAsync(`orders/${i}`, `order ${i}`, { qos: 1 });
    await pub.endAsync();
    assert.equal(broker.engine.getQueue('mqtt/keeper').depth, 20);
    await broker.restart();
    const again = mqtt.connect(broker.url(), {
      clientId: 'keeper',
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    const received = collect(again);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => again.once('connect', resolve));
    assert.equal(connack.sessionPresent, true);
    await waitFor(() => received.length === 20, { what: '20 queued messages' });
    assert.deepEqual(
      received.map((m) => m.payload),
      Array.from({ length: 20 }, (_, i) => `order ${i}`),
    );
    await waitFor(() => broker.engine.getQueue('mqtt/keeper').depth === 0, { what: 'acks to empty the queue' });
    await again.endAsync();
    await broker.close();
  });

  test('an unacknowledged delivery is redelivered with DUP when the client reconnects', async () => {
    const broker = await openMqttBroker();
    const first = await connect(broker.url(), { clientId: 'forgetful', clean: false });
    await first.subscribeAsync('work/#', { qos: 1 });
    // Swallow the PUBLISH without PUBACK by cutting the socket as soon as it arrives.
    let seen = 0;
    first.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') {
        seen++;
        first.stream.destroy();
      }
    });
    const pub = await connect(broker.url(), { clientId: 'forgetful-pub' });
    await pub.publishAsync('work/1', 'job', { qos: 1 });
    await waitFor(() => seen === 1, { what: 'first delivery' });
    first.end(true);
    await waitFor(() => broker.engine.getQueue('mqtt/forgetful').inFlight === 0, { what: 'release on disconnect' });
    const again = await connect(broker.url(), { clientId: 'forgetful', clean: false });
    const received = collect(again);
    await waitFor(() => received.length === 1, { what: 'redelivery' });
    assert.equal(received[0]!.dup, true);
    await Promise.all([again.endAsync(), pub.endAsync()]);
    await broker.close();
  });

  test('a clean session discards the previous persistent session and its queue', async () => {
    const broker = await openMqttBroker();
    const first = await connect(broker.url(), { clientId: 'switcher', clean: false });
    await first.subscribeAsync('sw/#', { qos: 1 });
    await first.endAsync();
    assert.ok(broker.engine.queueByName('mqtt/switcher'));
    const clean = await connect(broker.url(), { clientId: 'switcher', clean: true });
    assert.equal(broker.engine.queueByName('mqtt/switcher'), undefined);
    await clean.endAsync();
    await broker.close();
  });
});

describe('queues and shared subscriptions', () => {
  test('$queue/<name> gives each message to one consumer and PUBACK removes it from the queue', async () => {
    const broker = await openMqttBroker();
    await broker.engine.createQueue('jobs', { subscriptions: ['jobs/#'] });
    const a = await connect(broker.url(), { clientId: 'worker-a' });
    const b = await connect(broker.url(), { clientId: 'worker-b' });
    const gotA = collect(a);
    const gotB = collect(b);
    await a.subscribeAsync('$queue/jobs', { qos: 1 });
    await b.subscribeAsync('$queue/jobs', { qos: 1 });
    const pub = await connect(broker.url(), { clientId: 'jobs-pub' });
    for (let i = 0; i < 10; i++) await pub.publishAsync(`jobs/${i}`, `job ${i}`, { qos: 1 });
    await waitFor(() => gotA.length + gotB.length === 10, { what: '10 jobs' });
    assert.equal(new Set([...gotA, ...gotB].map((m) => m.payload)).size, 10);
    assert.ok(gotA.length > 0 && gotB.length > 0, 'both workers got work');
    await waitFor(() => broker.engine.getQueue('jobs').depth === 0, { what: 'acks' });
    await Promise.all([a.endAsync(), b.endAsync(), pub.endAsync()]);
    await broker.close();
  });

  test('$queue/ on a queue that does not exist is refused with SUBACK 0x80', async () => {
    const broker = await openMqttBroker();
    const c = await connect(broker.url(), { clientId: 'nobody' });
    await assert.rejects(
      c.subscribeAsync('$queue/missing', { qos: 1 }),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted?.[0] === 128,
    );
    await c.endAsync();
    await broker.close();
  });

  test('$share/<group>/<filter> delivers each message to one member of the group', async () => {
    const broker = await openMqttBroker();
    const members = await Promise.all([1, 2, 3].map((i) => connect(broker.url(), { clientId: `member-${i}` })));
    const got = members.map(collect);
    for (const m of members) await m.subscribeAsync('$share/g1/sensor/+', { qos: 1 });
    const plain = await connect(broker.url(), { clientId: 'plain' });
    const gotPlain = collect(plain);
    await plain.subscribeAsync('sensor/+', { qos: 0 });
    const pub = await connect(broker.url(), { clientId: 'share-pub' });
    for (let i = 0; i < 30; i++) await pub.publishAsync(`sensor/${i}`, `r${i}`, { qos: 1 });
    await waitFor(() => got.flat().length === 30 && gotPlain.length === 30, { what: '30 shared + 30 plain' });
    assert.equal(new Set(got.flat().map((m) => m.payload)).size, 30);
    assert.ok(
      got.every((g) => g.length > 0),
      'round robin reaches every member',
    );
    await Promise.all([...members, plain, pub].map((c) => c.endAsync()));
    await broker.close();
  });
});

describe('cross-protocol', () => {
  test('an MQTT publish reaches an engine consumer, and engine.publish reaches MQTT subscribers', async () => {
    const broker = await openMqttBroker();
    await broker.engine.createQueue('audit', { subscriptions: ['plant/#'] });
    const sub = await connect(broker.url(), { clientId: 'xp-sub' });
    const received = collect(sub);
    await sub.subscribeAsync('cmd/#', { qos: 1 });
    const pub = await connect(broker.url(), { clientId: 'xp-pub' });
    await pub.publishAsync('plant/line1', 'from mqtt', { qos: 1 });
    const deliveries: string[] = [];
    const consumer = broker.engine.consume('audit', {
      onDelivery: (d) => {
        deliveries.push(`${d.message.protocol}:${d.message.publisher}:${d.message.payload}`);
        void consumer.ack(d.deliveryId);
      },
    });
    await waitFor(() => deliveries.length === 1, { what: 'engine delivery' });
    assert.deepEqual(deliveries, ['mqtt:xp-pub:from mqtt']);
    await broker.engine.publish({ topic: 'cmd/start', payload: 'from amqp', protocol: 'amqp' });
    await waitFor(() => received.length === 1, { what: 'mqtt delivery' });
    assert.equal(received[0]!.payload, 'from amqp');
    await consumer.close();
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await broker.close();
  });
});

describe('transports', () => {
  const certs = tempDir('sluice-mqtt-tls-');
  after(() => certs.cleanup());

  test('WebSocket and TLS clients publish to each other', { skip: peerSkip('openssl') }, async () => {
    const { cert, key } = selfSignedCertificate(certs.dir);
    const broker = await openMqttBroker({ tls: { port: 0, cert, key } });
    const ws = await connect(broker.url('ws'), { clientId: 'ws-client' });
    const tls = await connect(broker.url('mqtts'), {
      clientId: 'tls-client',
      ca: readFileSync(cert),
      rejectUnauthorized: true,
    });
    const gotWs = collect(ws);
    const gotTls = collect(tls);
    await ws.subscribeAsync('to/ws', { qos: 1 });
    await tls.subscribeAsync('to/tls', { qos: 1 });
    await tls.publishAsync('to/ws', 'over tls', { qos: 1 });
    await ws.publishAsync('to/tls', 'over ws', { qos: 2 });
    await waitFor(() => gotWs.length === 1 && gotTls.length === 1, { what: 'both deliveries' });
    assert.equal(gotWs[0]!.payload, 'over tls');
    assert.equal(gotTls[0]!.payload, 'over ws');
    await Promise.all([ws.endAsync(), tls.endAsync()]);
    await broker.close();
  });
});

describe('refusals', () => {
  test('an MQTT 3.1 client is still served; a CONNECT at protocol level 6 gets CONNACK 0x01 and the connection closes', async () => {
    // MQTT 5 is served now (test/integration/mqtt5-*.test.ts); an unknown level is refused [MQTT-3.1.2-2].
    const broker = await openMqttBroker();
    const v31 = await connect(broker.url(), { protocolVersion: 3, protocolId: 'MQIsdp', clientId: 'v31' });
    await v31.endAsync();
    const socket = rawConnect(broker.mqtt.ports.tcp!, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(Buffer.from('101000044d5154540602003c000462616421', 'hex'));
    await closed;
    assert.deepEqual([...Buffer.concat(received)], [0x20, 0x02, 0x00, 0x01]);
    await broker.close();
  });

  test('a PUBLISH with a wildcard topic closes that connection; others keep working', async () => {
    const broker = await openMqttBroker();
    const bystander = await connect(broker.url(), { clientId: 'bystander' });
    const received = collect(bystander);
    await bystander.subscribeAsync('ok', { qos: 1 });
    const socket = rawConnect(broker.mqtt.ports.tcp!, '127.0.0.1');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const connectPacket = Buffer.from('101000044d5154540402003c000462616421', 'hex');
    const badPublish = Buffer.concat([Buffer.from([0x30, 7, 0, 3]), Buffer.from('a/#'), Buffer.from('xx')]);
    const connack = new Promise((resolve) => socket.once('data', resolve));
    socket.write(connectPacket);
    await connack;
    socket.write(badPublish);
    await closed;
    await bystander.publishAsync('ok', 'still up', { qos: 1 });
    await waitFor(() => received.length === 1, { what: 'bystander message' });
    await bystander.endAsync();
    await broker.close();
  });

  test('a packet larger than maxPacketBytes closes the connection and nothing is published', async () => {
    const broker = await openMqttBroker({ maxPacketBytes: 1024 });
    const big = await connect(broker.url(), { clientId: 'big' });
    const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish('big/x', Buffer.alloc(4096), { qos: 1 });
    await closed;
    assert.equal(broker.engine.counters.published, 0);
    const small = await connect(broker.url(), { clientId: 'small' });
    await small.publishAsync('big/x', Buffer.alloc(100), { qos: 1 });
    assert.equal(broker.engine.counters.published, 1);
    big.end(true);
    await small.endAsync();
    await broker.close();
  });

  test('a refused engine publish (queue full) closes the connection without PUBACK', async () => {
    const broker = await openMqttBroker();
    await broker.engine.createQueue('tiny', { subscriptions: ['tiny/#'], maxDepthMessages: 1 });
    const pub = await connect(broker.url(), { clientId: 'filler' });
    await pub.publishAsync('tiny/1', 'fits', { qos: 1 });
    const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
    pub.publish('tiny/2', 'overflows', { qos: 1 }, () => {});
    await closed;
    assert.equal(broker.engine.getQueue('tiny').depth, 1);
    pub.end(true);
    await broker.close();
  });

  test('one client more than maxConnections gets CONNACK 3 (server unavailable)', async () => {
    const broker = await openMqttBroker({ maxConnections: 2 });
    const a = await connect(broker.url(), { clientId: 'a' });
    const b = await connect(broker.url(), { clientId: 'b' });
    await assert.rejects(connect(broker.url(), { clientId: 'c' }), (error: { code?: number }) => error.code === 3);
    await Promise.all([a.endAsync(), b.endAsync()]);
    await broker.close();
  });
});
