import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { field, frame } from './mqtt-bytes.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient5 } from './mqtt5-helpers.ts';
import { limitedPassword, startSecuredBroker } from './security-helpers.ts';

// MQTT 5 packet rules the broker must keep when it writes (reason strings within the client's
// Maximum Packet Size, DISCONNECT contents, topic aliases per connection) and when it reads
// (properties a packet may not carry, topic alias 0), plus retained messages and refused
// subscriptions with security on (docs/mqtt-conformance.md).

describe('reason strings and the client maximum packet size', () => {
  test('5 [MQTT-3.2.2-19] [MQTT-3.4.2-2] [MQTT-3.5.2-2] [MQTT-3.14.2-3]: CONNACK, PUBACK, PUBREC and DISCONNECT leave out a reason string that would exceed the client maximum packet size', async () => {
    const broker = await openMqttBroker({ topicAliasMaximum: 2 });
    const port = broker.mqtt.ports.tcp!;
    for (const maximumPacketSize of [undefined, 16]) {
      const small = maximumPacketSize !== undefined;
      const limit = small ? { maximumPacketSize } : {};
      const check = (packet: { properties?: Record<string, unknown> }, what: string) =>
        small
          ? assert.equal(packet.properties?.reasonString, undefined, `${what}: no reason string beyond 16 bytes`)
          : assert.match(String(packet.properties?.reasonString), /.+/, `${what}: a reason string when it fits`);
      const refused = await RawClient5.open(port, {
        clientId: `fit-connack-${small}`,
        properties: { authenticationMethod: 'SCRAM-SHA-1', ...limit },
      });
      assert.equal(refused.connack.reasonCode, 0x8c);
      check(refused.connack, 'CONNACK');
      const { client } = await RawClient5.open(port, { clientId: `fit-${small}`, properties: limit });
      client.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 1, messageId: 1 });
      const puback = await client.next('puback');
      assert.equal(puback.reasonCode, 0x87);
      check(puback, 'PUBACK');
      client.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 2, messageId: 2 });
      const pubrec = await client.next('pubrec');
      assert.equal(pubrec.reasonCode, 0x87);
      check(pubrec, 'PUBREC');
      client.send({ cmd: 'publish', topic: 'fit/a', payload: Buffer.from('x'), qos: 0, properties: { topicAlias: 3 } });
      const disconnect = await client.next('disconnect');
      assert.equal(disconnect.reasonCode, 0x94);
      check(disconnect, 'DISCONNECT');
      await waitFor(() => client.closed, { what: 'the connection closed' });
    }
    await broker.close();
  });
});

describe('request problem information', () => {
  test('5 [MQTT-3.1.2-29]: with Request Problem Information 0 a refused PUBLISH gets PUBACK / PUBREC without reason string; DISCONNECT keeps its reason string', async () => {
    const broker = await openMqttBroker({ topicAliasMaximum: 2 });
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'no-problems',
      properties: { requestProblemInformation: false },
    });
    client.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 1, messageId: 1 });
    const puback = await client.next('puback');
    assert.equal(puback.reasonCode, 0x87);
    assert.equal(puback.properties?.reasonString, undefined);
    client.send({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('x'), qos: 2, messageId: 2 });
    const pubrec = await client.next('pubrec');
    assert.equal(pubrec.reasonCode, 0x87);
    assert.equal(pubrec.properties?.reasonString, undefined);
    client.send({ cmd: 'publish', topic: 'np/a', payload: Buffer.from('x'), qos: 0, properties: { topicAlias: 3 } });
    const disconnect = await client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x94);
    assert.match(String(disconnect.properties?.reasonString), /topic alias/);
    await broker.close();
  });
});

describe('DISCONNECT from the broker', () => {
  test('5 [MQTT-3.14.2-2] [MQTT-3.14.4-1] [MQTT-3.3.2-8]: after topic alias 0 the broker sends DISCONNECT 0x94 without Session Expiry Interval, and nothing after it', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'alias-zero',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    // PUBLISH QoS 0 to "z" with Topic Alias 0, then a PINGREQ and a SUBSCRIBE in the same write.
    const aliasZero = frame(0x30, field('z'), Buffer.from([3, 0x23, 0, 0]), Buffer.from('x'));
    const pingreq = Buffer.from([0xc0, 0]);
    const subscribe = frame(0x82, Buffer.from([0, 1, 0]), field('z/#'), Buffer.from([1]));
    client.write(Buffer.concat([aliasZero, pingreq, subscribe]));
    await waitFor(() => client.closed, { what: 'the connection closed' });
    assert.deepEqual(client.order, ['connack', 'disconnect'], 'DISCONNECT is the last packet');
    const disconnect = await client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x94, 'topic alias invalid');
    assert.equal(disconnect.properties?.sessionExpiryInterval, undefined);
    await broker.close();
  });
});

describe('topic aliases', () => {
  test('5 [MQTT-3.3.2-7]: topic aliases, both ways, do not carry over to the next connection of the same client', async () => {
    const broker = await openMqttBroker();
    const port = broker.mqtt.ports.tcp!;
    const options = { clientId: 'alias-conn', properties: { topicAliasMaximum: 4 } };
    const first = await RawClient5.open(port, options);
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ac/#', qos: 0 }] });
    await first.client.next('suback');
    first.client.send({
      cmd: 'publish',
      topic: 'ac/in',
      payload: Buffer.from('1'),
      qos: 0,
      properties: { topicAlias: 1 },
    });
    first.client.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, properties: { topicAlias: 1 } });
    await waitFor(() => first.client.publishes().length === 2, { what: 'two deliveries' });
    const outbound = first.client.publishes().map((p) => [p.topic, p.properties?.topicAlias]);
    assert.deepEqual(outbound, [
      ['ac/in', 1],
      ['', 1],
    ]);
    first.client.close();
    await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the first connection gone' });
    const second = await RawClient5.open(port, options);
    second.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ac/#', qos: 0 }] });
    await second.client.next('suback');
    const pub = await connect(broker.url(), { clientId: 'alias-conn-pub' });
    await pub.publishAsync('ac/in', '3', { qos: 0 });
    const fresh = await second.client.next('publish');
    assert.equal(fresh.topic, 'ac/in', 'the broker sets its alias again, with the topic');
    // The client's alias 1 of the first connection is unknown here: a protocol error.
    second.client.send({ cmd: 'publish', topic: '', payload: Buffer.from('4'), qos: 0, properties: { topicAlias: 1 } });
    const disconnect = await second.client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    await pub.endAsync();
    await broker.close();
  });
});

describe('properties a packet may not carry', () => {
  test('5 [MQTT-2.2.2-2]: a PUBLISH with a CONNECT-only property (Session Expiry Interval) is malformed: the connection closes, nothing is delivered', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'prop-watch' });
    const seen = collect(watcher);
    await watcher.subscribeAsync('prop/#', { qos: 1 });
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'prop-bad' });
    // Property 0x11 Session Expiry Interval (four bytes) in a PUBLISH QoS 1.
    const properties = Buffer.from([0x11, 0, 0, 0, 10]);
    client.write(frame(0x32, field('prop/a'), Buffer.from([0, 1, properties.length]), properties, Buffer.from('bad')));
    await waitFor(() => client.closed, { what: 'the connection closed' });
    assert.equal(client.packets.filter((p) => p.cmd === 'puback').length, 0);
    await watcher.publishAsync('prop/marker', 'm', { qos: 1 });
    await waitFor(() => seen.length > 0, { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['prop/marker'],
    );
    await watcher.endAsync();
    await broker.close();
  });
});

describe('retained messages from MQTT 5 publishers', () => {
  test('5 [MQTT-3.3.1-6] [MQTT-3.3.1-7] [MQTT-3.3.1-8]: QoS 0 retain replaces, RETAIN 0 leaves it, an empty retained payload clears it and is not stored', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'ret5-pub', protocolVersion: 5 });
    const retainedOf = async (clientId: string): Promise<string[]> => {
      const sub = await connect(broker.url(), { clientId, protocolVersion: 5 });
      const seen = collect(sub);
      await sub.subscribeAsync('ret5/#', { qos: 1 });
      await pub.publishAsync('ret5/marker', clientId, { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === 'ret5/marker'), { what: 'the marker' });
      await sub.endAsync();
      return seen.filter((m) => m.retain).map((m) => m.payload);
    };
    await pub.publishAsync('ret5/a', 'first', { qos: 1, retain: true });
    await pub.publishAsync('ret5/a', 'second', { qos: 0, retain: true });
    await pub.publishAsync('ret5/a', 'not retained', { qos: 1, retain: false });
    assert.deepEqual(await retainedOf('ret5-sub-1'), ['second']);
    await pub.publishAsync('ret5/a', '', { qos: 1, retain: true });
    assert.deepEqual(await retainedOf('ret5-sub-2'), []);
    await pub.endAsync();
    await broker.close();
  });
});

describe('refused SUBSCRIBE with security on', () => {
  test('3.1.1 [MQTT-3.8.4-5] [MQTT-3.9.3-2] and 5 [MQTT-3.8.4-7] [MQTT-3.9.3-2]: filters the ACL refuses get 0x80 (3.1.1) or 0x87 (5) in place, the others are granted, the connection stays', async () => {
    const { mqttUrl, cleanup } = await startSecuredBroker();
    const port = Number(new URL(mqttUrl).port);
    const filters = ['plant/line2/#', 'plant/line1/a', '#'];
    const limited = { username: 'limited', password: limitedPassword };
    // 3.1.1 through MQTT.js, 5 on a raw socket: SUBACK return codes and reason codes as sent.
    const v4 = await connect(mqttUrl, { clientId: 'acl-311', ...limited });
    const seen = collect(v4);
    // MQTT.js rejects a SUBACK with a failure code; the packet is on the error.
    const suback4 = await v4.subscribeAsync(filters, { qos: 1 }).then(
      () => assert.fail('a refusal was expected'),
      (error: { packet?: { granted?: number[] } }) => error.packet,
    );
    assert.deepEqual(suback4?.granted, [0x80, 1, 0x80]);
    const { client: v5, connack } = await RawClient5.open(port, { clientId: 'acl-5', ...limited });
    assert.equal(connack.reasonCode, 0);
    v5.send({ cmd: 'subscribe', messageId: 4, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) });
    const suback = await v5.next('suback');
    assert.equal(suback.messageId, 4);
    assert.deepEqual(suback.granted, [0x87, 1, 0x87]);
    // Both connections are still up and receive on the granted filter.
    await v4.publishAsync('plant/line1/a', 'ok', { qos: 1 });
    await waitFor(() => seen.length === 1 && v5.publishes().length === 1, { what: 'the message at both' });
    assert.equal(v5.closed, false);
    v5.close();
    await v4.endAsync();
    await cleanup();
  });
});
