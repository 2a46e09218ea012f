import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ErrorWithReasonCode } from 'mqtt';
import type { Message } from '../../core/engine/message.ts';
import { ConnectionRegistry } from '../../core/api/connections.ts';
import { silentLogger } from '../../core/log.ts';
import { startMqtt } from '../../core/protocols/mqtt/index.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { openMqttBroker } from './mqtt-helpers.ts';
import { collect5, connect5, connectCollecting5, RawClient5 } from './mqtt5-helpers.ts';

// MQTT 5 over real sockets with MQTT.js (protocolVersion 5) and a raw mqtt-packet client.

describe('MQTT 5 connect', () => {
  test('CONNACK carries the limits, an assigned client id and the server keep alive', async () => {
    const broker = await openMqttBroker({ maxKeepAliveSec: 30, maxInFlightPerClient: 50, maxPacketBytes: 65_536 });
    const { client, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: '', keepalive: 0 });
    assert.equal(connack.reasonCode, 0);
    const properties = connack.properties!;
    assert.match(String(properties.assignedClientIdentifier), /.+/, 'assigned client identifier');
    assert.equal(properties.serverKeepAlive, 30, 'keep alive 0 is replaced by the server keep alive');
    assert.equal(properties.receiveMaximum, 50);
    assert.equal(properties.maximumPacketSize, 65_536);
    assert.equal(properties.topicAliasMaximum, 64);
    assert.equal(properties.sharedSubscriptionAvailable, true);
    assert.equal(properties.subscriptionIdentifiersAvailable, true);
    client.close();
    await broker.close();
  });

  test('enhanced authentication is refused with CONNACK 0x8C (bad authentication method)', async () => {
    const broker = await openMqttBroker();
    await assert.rejects(
      connect5(broker.url(), { clientId: 'scram', properties: { authenticationMethod: 'SCRAM-SHA-1' } }),
      (error: ErrorWithReasonCode) => error.code === 0x8c,
    );
    await broker.close();
  });

  test('a session expiry interval keeps the session across a broker restart; Clean Start drops it', async () => {
    const broker = await openMqttBroker();
    const keeper = await connect5(broker.url(), {
      clientId: 'keeper5',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await keeper.subscribeAsync('kept/#', { qos: 1 });
    await keeper.endAsync();
    await broker.restart();
    const pub = await connect5(broker.url(), { clientId: 'pub5' });
    for (let i = 0; i < 3; i++) await pub.publishAsync(`kept/${i}`, `k${i}`, { qos: 1 });
    await pub.endAsync();
    const {
      client: back,
      received,
      sessionPresent,
    } = await connectCollecting5(broker.url(), {
      clientId: 'keeper5',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    assert.equal(sessionPresent, true);
    await waitFor(() => received.length === 3, { what: 'the 3 messages kept while away' });
    await back.endAsync();
    // Clean Start with an expiry: a new session, the old one (queue and subscriptions) is gone.
    const { client: fresh, sessionPresent: again } = await connectCollecting5(broker.url(), {
      clientId: 'keeper5',
      clean: true,
      properties: { sessionExpiryInterval: 3600 },
    });
    assert.equal(again, false);
    assert.equal(broker.engine.queueByName('mqtt/keeper5'), undefined);
    await fresh.endAsync();
    await broker.close();
  });

  test('a session expires after its session expiry interval', async () => {
    const broker = await openMqttBroker();
    const brief = await connect5(broker.url(), {
      clientId: 'brief',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await brief.subscribeAsync('brief/#', { qos: 1 });
    assert.ok(broker.engine.queueByName('mqtt/brief'));
    await brief.endAsync();
    await waitFor(() => !broker.engine.queueByName('mqtt/brief'), { timeoutMs: 4000, what: 'session queue gone' });
    const { client: back, sessionPresent } = await connectCollecting5(broker.url(), {
      clientId: 'brief',
      clean: false,
    });
    assert.equal(sessionPresent, false);
    await back.endAsync();
    await broker.close();
  });
});

describe('MQTT 5 publish properties', () => {
  test('properties reach the engine and come back to an MQTT 5 subscriber', async () => {
    const broker = await openMqttBroker();
    const sub = await connect5(broker.url(), { clientId: 'props-sub' });
    const received = collect5(sub);
    await sub.subscribeAsync('props/#', { qos: 1, properties: { subscriptionIdentifier: 42 } });
    const seen: Message[] = [];
    const stop = broker.engine.listen('props/#', (message) => seen.push(message));
    const pub = await connect5(broker.url(), { clientId: 'props-pub' });
    await pub.publishAsync('props/a', '{"t":21}', {
      qos: 1,
      properties: {
        userProperties: { unit: 'C', site: ['north', 'south'] },
        contentType: 'application/json',
        responseTopic: 'reply/here',
        correlationData: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
        payloadFormatIndicator: true,
        messageExpiryInterval: 120,
      },
    });
    await waitFor(() => received.length === 1 && seen.length === 1, { what: 'delivery' });
    const message = seen[0]!;
    assert.equal(message.contentType, 'application/json');
    assert.equal(message.replyTo, 'reply/here');
    assert.equal(message.correlationId, '3q2+7w==', 'binary correlation data is base64');
    assert.equal(message.headers['mqtt-correlation-data'], 'base64');
    assert.equal(message.headers.unit, 'C');
    assert.equal(message.headers.site, 'north, south');
    assert.ok(message.expiresAt! > Date.now() + 100_000 && message.expiresAt! <= Date.now() + 120_000);
    const { properties } = received[0]!;
    assert.equal(properties.contentType, 'application/json');
    assert.equal(properties.responseTopic, 'reply/here');
    assert.deepEqual(properties.correlationData, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    assert.equal(properties.payloadFormatIndicator, true);
    assert.equal(properties.subscriptionIdentifier, 42);
    assert.ok(
      (properties.messageExpiryInterval as number) <= 120 && (properties.messageExpiryInterval as number) > 100,
    );
    assert.deepEqual({ ...(properties.userProperties as object) }, { unit: 'C', site: 'north, south' });
    stop();
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await broker.close();
  });

  test('messages from other doors carry their headers as user properties', async () => {
    const broker = await openMqttBroker();
    const sub = await connect5(broker.url(), { clientId: 'door-sub' });
    const received = collect5(sub);
    await sub.subscribeAsync('door/#', { qos: 1 });
    await broker.engine.publish({
      topic: 'door/http',
      payload: 'x',
      protocol: 'http',
      headers: { trace: 'abc' },
      correlationId: 'order-7',
      replyTo: 'door/reply',
      contentType: 'text/plain',
      dmqEligible: false,
    });
    await waitFor(() => received.length === 1, { what: 'delivery' });
    const { properties } = received[0]!;
    assert.deepEqual({ ...(properties.userProperties as object) }, { trace: 'abc', 'sluice-dmq-eligible': 'false' });
    assert.equal(Buffer.from(properties.correlationData as Buffer).toString(), 'order-7');
    assert.equal(properties.responseTopic, 'door/reply');
    assert.equal(properties.contentType, 'text/plain');
    assert.equal(received[0]!.qos, 1);
    await sub.endAsync();
    await broker.close();
  });

  test('a refused publish gets a PUBACK reason code and the connection stays up', async () => {
    const broker = await openMqttBroker();
    const pub = await connect5(broker.url(), { clientId: 'refused5' });
    await assert.rejects(pub.publishAsync('$SYS/x', 'no', { qos: 1 }), (error: ErrorWithReasonCode) => {
      return error.code === 0x87;
    });
    await assert.rejects(
      pub.publishAsync('bad/utf8', Buffer.from([0xff, 0xfe]), { qos: 1, properties: { payloadFormatIndicator: true } }),
      (error: ErrorWithReasonCode) => error.code === 0x99,
    );
    await pub.publishAsync('still/up', 'yes', { qos: 1 });
    assert.equal(pub.connected, true);
    await pub.endAsync();
    await broker.close();
  });

  test('a full queue refuses with PUBACK 0x97 (quota exceeded) instead of closing', async () => {
    const broker = await openMqttBroker();
    await broker.engine.ensureQueue('tiny', { subscriptions: ['tiny/#'], maxDepthMessages: 1 });
    const pub = await connect5(broker.url(), { clientId: 'quota5' });
    await pub.publishAsync('tiny/1', 'one', { qos: 1 });
    await assert.rejects(pub.publishAsync('tiny/2', 'two', { qos: 1 }), (e: ErrorWithReasonCode) => e.code === 0x97);
    assert.equal(pub.connected, true);
    await pub.endAsync();
    await broker.close();
  });

  test('message expiry: an expired message is dead-lettered, not delivered', async () => {
    const broker = await openMqttBroker();
    const sub = await connect5(broker.url(), {
      clientId: 'expiry-sub',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await sub.subscribeAsync('exp/#', { qos: 1 });
    await sub.endAsync();
    const pub = await connect5(broker.url(), { clientId: 'expiry-pub' });
    await pub.publishAsync('exp/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 600 } });
    await pub.endAsync();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the 1 s expiry has to pass
    const { client: back, received } = await connectCollecting5(broker.url(), {
      clientId: 'expiry-sub',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await waitFor(() => received.length === 1, { what: 'the live message' });
    assert.equal(received[0]!.payload, 'kept');
    assert.ok((received[0]!.properties.messageExpiryInterval as number) <= 599, 'the remaining time is forwarded');
    await waitFor(() => broker.engine.deadMessages.list({ reason: 'ttl-expired' }).length === 1, { what: 'DMQ' });
    assert.equal(broker.engine.deadMessages.list({ reason: 'ttl-expired' })[0]!.message.payload.toString(), 'gone');
    await back.endAsync();
    await broker.close();
  });
});

describe('MQTT 5 acknowledgements', () => {
  test('a subscriber PUBACK with a failure reason code dead-letters the message with its reason string', async () => {
    const broker = await openMqttBroker();
    const sub = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'rejecter',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    sub.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rej/#', qos: 1 }] });
    assert.deepEqual((await sub.client.next('suback')).granted, [1]);
    const pub = await connect5(broker.url(), { clientId: 'rej-pub' });
    await pub.publishAsync('rej/a', 'poison', { qos: 1 });
    await pub.publishAsync('rej/b', 'fine', { qos: 1 });
    const first = await sub.client.next('publish');
    const second = await sub.client.next('publish');
    sub.client.send({
      cmd: 'puback',
      messageId: first.messageId,
      reasonCode: 0x99,
      properties: { reasonString: 'payload is not a reading' },
    });
    sub.client.send({ cmd: 'puback', messageId: second.messageId, reasonCode: 0 });
    await waitFor(() => broker.engine.deadMessages.list({ reason: 'rejected' }).length === 1, { what: 'DMQ' });
    const dead = broker.engine.deadMessages.list({ reason: 'rejected' })[0]!;
    assert.equal(dead.message.payload.toString(), 'poison');
    assert.equal(dead.error, 'payload is not a reading');
    assert.equal(dead.queue, 'mqtt/rejecter');
    await waitFor(() => broker.engine.getQueue('mqtt/rejecter').depth === 0, { what: 'queue settled' });
    sub.client.close();
    await pub.endAsync();
    await broker.close();
  });

  test('MQTT.js customHandleAcks rejecting with 0x80 dead-letters the message', async () => {
    const broker = await openMqttBroker();
    await broker.engine.ensureQueue('orders', { subscriptions: ['orders/#'] });
    const sub = await connect5(broker.url(), {
      clientId: 'js-rejecter',
      customHandleAcks: (_topic, message, _packet, done) => done(message.toString() === 'bad' ? 0x80 : 0),
    });
    await sub.subscribeAsync('$queue/orders', { qos: 1 });
    await broker.engine.publish({ topic: 'orders/1', payload: 'bad' });
    await broker.engine.publish({ topic: 'orders/2', payload: 'good' });
    await waitFor(() => broker.engine.deadMessages.list({ queue: 'orders' }).length === 1, { what: 'DMQ' });
    await waitFor(() => broker.engine.getQueue('orders').depth === 0, { what: 'queue settled' });
    assert.match(broker.engine.deadMessages.list({ queue: 'orders' })[0]!.error ?? '', /0x80/);
    await sub.endAsync();
    await broker.close();
  });

  test('receive maximum is honoured for queue and live deliveries', async () => {
    const broker = await openMqttBroker();
    await broker.engine.ensureQueue('work', { subscriptions: ['work/#'] });
    const queued = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'slow-queue',
      properties: { receiveMaximum: 2 },
    });
    queued.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$queue/work', qos: 1 }] });
    await queued.client.next('suback');
    const live = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'slow-live',
      properties: { receiveMaximum: 3 },
    });
    live.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'work/#', qos: 1 }] });
    await live.client.next('suback');
    for (let i = 0; i < 8; i++) await broker.engine.publish({ topic: `work/${i}`, payload: `w${i}` });
    await waitFor(() => queued.client.publishes().length === 2 && live.client.publishes().length === 3, {
      what: 'the first window',
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more may come without acks
    assert.equal(queued.client.publishes().length, 2);
    assert.equal(live.client.publishes().length, 3);
    const acks = async (raw: RawClient5, total: number): Promise<string[]> => {
      const payloads: string[] = [];
      while (payloads.length < total) {
        const packet = await raw.next('publish');
        payloads.push(packet.payload!.toString());
        raw.send({ cmd: 'puback', messageId: packet.messageId });
      }
      return payloads;
    };
    const expected = Array.from({ length: 8 }, (_, i) => `w${i}`);
    assert.deepEqual(await acks(queued.client, 8), expected);
    assert.deepEqual(await acks(live.client, 8), expected);
    queued.client.close();
    live.client.close();
    await broker.close();
  });

  test('a delivery larger than the client maximum packet size goes to the DMQ', async () => {
    const broker = await openMqttBroker();
    await broker.engine.ensureQueue('sized', { subscriptions: ['sized/#'] });
    const sub = await connect5(broker.url(), { clientId: 'small', properties: { maximumPacketSize: 200 } });
    const received = collect5(sub);
    await sub.subscribeAsync('$queue/sized', { qos: 1 });
    await broker.engine.publish({ topic: 'sized/big', payload: Buffer.alloc(500, 1) });
    await broker.engine.publish({ topic: 'sized/small', payload: 'ok' });
    await waitFor(() => received.length === 1, { what: 'the small one' });
    await waitFor(() => broker.engine.deadMessages.list({ queue: 'sized' }).length === 1, { what: 'DMQ' });
    assert.match(broker.engine.deadMessages.list({ queue: 'sized' })[0]!.error ?? '', /maximum packet size 200/);
    await sub.endAsync();
    await broker.close();
  });
});

describe('MQTT 5 subscriptions', () => {
  test('SUBACK and UNSUBACK carry reason codes', async () => {
    const broker = await openMqttBroker();
    const raw = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'codes' });
    raw.client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'ok/#', qos: 2 },
        { topic: '$queue/missing', qos: 1 },
      ],
    });
    assert.deepEqual((await raw.client.next('suback')).granted, [2, 0x8f]);
    raw.client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['ok/#', 'never/#'] });
    assert.deepEqual((await raw.client.next('unsuback')).granted, [0x00, 0x11]);
    raw.client.close();
    await broker.close();
  });

  test('no local, retain as published and retain handling', async () => {
    const broker = await openMqttBroker();
    const pub = await connect5(broker.url(), { clientId: 'retainer' });
    await pub.publishAsync('r/t', 'retained', { qos: 1, retain: true });
    const me = await connect5(broker.url(), { clientId: 'me' });
    const mine = collect5(me);
    await me.subscribeAsync('r/#', { qos: 1, nl: true, rap: true, rh: 2 });
    await me.subscribeAsync('r/#', { qos: 1, nl: true, rap: true, rh: 1 }); // existing: no retained again
    const other = await connect5(broker.url(), { clientId: 'other' });
    const theirs = collect5(other);
    await other.subscribeAsync('r/#', { qos: 1, rh: 0 });
    await waitFor(() => theirs.length === 1, { what: 'retained on subscribe' });
    assert.equal(theirs[0]!.retain, true);
    await me.publishAsync('r/t', 'own', { qos: 1, retain: true });
    await pub.publishAsync('r/t', 'from pub', { qos: 1, retain: true });
    await waitFor(() => theirs.length === 3 && mine.length === 1, { what: 'live deliveries' });
    assert.deepEqual(
      mine.map((m) => [m.payload, m.retain]),
      [['from pub', true]],
      'no own message; RETAIN kept',
    );
    assert.deepEqual(
      theirs.slice(1).map((m) => [m.payload, m.retain]),
      [
        ['own', false],
        ['from pub', false],
      ],
    );
    await Promise.all([pub.endAsync(), me.endAsync(), other.endAsync()]);
    await broker.close();
  });

  test('a retained message keeps its properties for MQTT 5 subscribers, across a restart', async () => {
    const broker = await openMqttBroker();
    const pub = await connect5(broker.url(), { clientId: 'retain-props' });
    await pub.publishAsync('rp/state', 'on', {
      qos: 1,
      retain: true,
      properties: { userProperties: { by: 'plc' }, contentType: 'text/plain' },
    });
    await pub.endAsync();
    await broker.restart();
    const sub = await connect5(broker.url(), { clientId: 'retain-reader' });
    const received = collect5(sub);
    await sub.subscribeAsync('rp/#', { qos: 1 });
    await waitFor(() => received.length === 1, { what: 'the retained message' });
    assert.equal(received[0]!.retain, true);
    assert.equal(received[0]!.properties.contentType, 'text/plain');
    assert.deepEqual({ ...(received[0]!.properties.userProperties as object) }, { by: 'plc' });
    await sub.endAsync();
    await broker.close();
  });

  test('shared subscriptions share among MQTT 5 members', async () => {
    const broker = await openMqttBroker();
    const members = await Promise.all([1, 2].map((i) => connect5(broker.url(), { clientId: `member${i}` })));
    const got = members.map(collect5);
    for (const member of members) await member.subscribeAsync('$share/g/jobs/#', { qos: 1 });
    const pub = await connect5(broker.url(), { clientId: 'jobs-pub' });
    for (let i = 0; i < 10; i++) await pub.publishAsync(`jobs/${i}`, `j${i}`, { qos: 1 });
    await waitFor(() => got[0]!.length + got[1]!.length === 10, { what: '10 jobs' });
    assert.ok(got[0]!.length > 0 && got[1]!.length > 0, 'both members got work');
    await Promise.all([...members, pub].map((c) => c.endAsync()));
    await broker.close();
  });

  test('topic aliases: set, used, and an invalid one disconnects with 0x94', async () => {
    const broker = await openMqttBroker();
    const sub = await connect5(broker.url(), { clientId: 'alias-sub' });
    const received = collect5(sub);
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const pub = await connect5(broker.url(), { clientId: 'alias-pub' });
    await pub.publishAsync('alias/long/topic/name', 'first', { qos: 1, properties: { topicAlias: 3 } });
    await pub.publishAsync('', 'second', { qos: 1, properties: { topicAlias: 3 } });
    await waitFor(() => received.length === 2, { what: '2 messages' });
    assert.deepEqual(
      received.map((m) => m.topic),
      ['alias/long/topic/name', 'alias/long/topic/name'],
    );
    const raw = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'bad-alias' });
    raw.client.send({ cmd: 'publish', topic: 'x', payload: 'y', qos: 0, properties: { topicAlias: 1000 } });
    assert.equal((await raw.client.next('disconnect')).reasonCode, 0x94);
    await waitFor(() => raw.client.closed, { what: 'closed' });
    await Promise.all([sub.endAsync(), pub.endAsync()]);
    await broker.close();
  });
});

describe('MQTT 5 outbound topic aliases', () => {
  test('a client with a topic alias maximum gets aliases; MQTT.js resolves them', async () => {
    const broker = await openMqttBroker();
    const raw = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'alias-raw',
      properties: { topicAliasMaximum: 2 },
    });
    raw.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ta/#', qos: 0 }] });
    await raw.client.next('suback');
    const js = await connect5(broker.url(), { clientId: 'alias-js', properties: { topicAliasMaximum: 5 } });
    const received = collect5(js);
    await js.subscribeAsync('ta/#', { qos: 1 });
    for (const topic of ['ta/a', 'ta/a', 'ta/b', 'ta/c', 'ta/c'])
      await broker.engine.publish({ topic, payload: topic });
    await waitFor(() => raw.client.publishes().length === 5 && received.length === 5, { what: '5 each' });
    assert.deepEqual(
      raw.client.publishes().map((p) => [p.topic, p.properties?.topicAlias ?? null]),
      [
        ['ta/a', 1],
        ['', 1],
        ['ta/b', 2],
        ['ta/c', null],
        ['ta/c', null],
      ],
    );
    assert.deepEqual(
      received.map((m) => m.topic),
      ['ta/a', 'ta/a', 'ta/b', 'ta/c', 'ta/c'],
    );
    raw.client.close();
    await js.endAsync();
    await broker.close();
  });
});

describe('MQTT 5 disconnect', () => {
  test('session take-over and broker shutdown are told with DISCONNECT reason codes', async () => {
    const broker = await openMqttBroker();
    const first = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'twin' });
    const second = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'twin' });
    assert.equal((await first.client.next('disconnect')).reasonCode, 0x8e);
    const closing = broker.close();
    assert.equal((await second.client.next('disconnect')).reasonCode, 0x8b);
    await closing;
  });

  test('a client DISCONNECT may end its session (expiry 0) or ask for its will (0x04)', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'will-watch' });
    const wills = collect5(watcher);
    await watcher.subscribeAsync('wills/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'leaving',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: { topic: 'wills/leaving', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    await leaving.subscribeAsync('stuff/#', { qos: 1 });
    assert.ok(broker.engine.queueByName('mqtt/leaving'));
    await leaving.endAsync(false, { reasonCode: 0x04, properties: { sessionExpiryInterval: 0 } });
    await waitFor(() => wills.length === 1, { what: 'the will' });
    assert.equal(wills[0]!.payload, 'gone');
    await waitFor(() => !broker.engine.queueByName('mqtt/leaving'), { what: 'session ended by DISCONNECT' });
    await watcher.endAsync();
    await broker.close();
  });

  test('a connection closed through the connections API gets DISCONNECT 0x98', async () => {
    const opened = await openTestEngine();
    const connections = new ConnectionRegistry();
    const listener = await startMqtt(opened.engine, { tcp: { port: 0 }, ws: { enabled: false } }, silentLogger(), {
      connections,
    });
    const raw = await RawClient5.open(listener.ports.tcp!, { clientId: 'admin-target' });
    connections.disconnect(connections.list().find((c) => c.clientId === 'admin-target')!.id);
    const disconnect = await raw.client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x98);
    await waitFor(() => raw.client.closed, { what: 'closed' });
    await listener.close();
    await opened.cleanup();
  });

  test('a packet over maxPacketBytes gets DISCONNECT 0x95', async () => {
    const broker = await openMqttBroker({ maxPacketBytes: 1024 });
    const raw = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'big' });
    raw.client.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(4096), qos: 0 });
    assert.equal((await raw.client.next('disconnect')).reasonCode, 0x95);
    raw.client.close();
    await broker.close();
  });
});
