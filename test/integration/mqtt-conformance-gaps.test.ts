import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../core/log.ts';
import { startMqtt } from '../../core/protocols/mqtt/index.ts';
import { allowAllPolicy, type SecurityPolicy } from '../../core/security/authorize.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';
import { RawClient5, connect5, connectCollecting5 } from './mqtt5-helpers.ts';

// Statements found untested while building docs/mqtt-conformance.md (issue 19). Each test names the
// statement(s) it proves; "3.1.1" / "5" say which specification's numbering.

/** Subscribing to `secret/...` is refused; everything else is allowed. */
const noSecrets: SecurityPolicy = {
  authenticate: allowAllPolicy.authenticate,
  allows: (_principal, action, resource) => !(action === 'subscribe' && resource.startsWith('secret/')),
};

async function openSecuredBroker(): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const test = await openTestEngine();
  const listener = await startMqtt(test.engine, { tcp: { port: 0 }, ws: { enabled: false } }, silentLogger(), {
    security: noSecrets,
  });
  return {
    port: listener.ports.tcp!,
    url: `mqtt://127.0.0.1:${listener.ports.tcp}`,
    async close() {
      await listener.close();
      await test.cleanup();
    },
  };
}

describe('refused SUBSCRIBE', () => {
  test('3.1.1 [MQTT-3.8.4-5] [MQTT-3.9.3-1]: a refused filter gets 0x80 in its place, the others are granted, the connection stays', async () => {
    const broker = await openSecuredBroker();
    const { client } = await RawClient.open(broker.port, { clientId: 'refused-311', clean: true });
    client.send({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        { topic: 'open/a', qos: 1 },
        { topic: 'secret/b', qos: 1 },
        { topic: 'open/c', qos: 2 },
      ],
    });
    const suback = await client.next('suback');
    assert.equal(suback.messageId, 7, '[MQTT-3.8.4-2] same packet identifier');
    assert.deepEqual(suback.granted, [1, 0x80, 2]);
    // Still connected and subscribed: a publish on a granted filter comes back.
    client.send({ cmd: 'publish', topic: 'open/a', payload: Buffer.from('x'), qos: 0, retain: false });
    await waitFor(() => client.publishes().length === 1, { what: 'the message on the granted filter' });
    assert.equal(client.closed, false);
    client.close();
    await broker.close();
  });

  test('5 [MQTT-3.8.4-6] [MQTT-3.9.3-2]: a filter refused by the ACL gets 0x87 (not authorized), the connection stays', async () => {
    const broker = await openSecuredBroker();
    const { client } = await RawClient5.open(broker.port, { clientId: 'refused-5' });
    client.send({
      cmd: 'subscribe',
      messageId: 9,
      subscriptions: [
        { topic: 'secret/b', qos: 1 },
        { topic: 'open/a', qos: 1 },
      ],
    });
    const suback = await client.next('suback');
    assert.equal(suback.messageId, 9);
    assert.deepEqual(suback.granted, [0x87, 1]);
    client.send({ cmd: 'pingreq' });
    await client.next('pingresp');
    assert.equal(client.closed, false);
    client.close();
    await broker.close();
  });
});

describe('$ topics', () => {
  test('3.1.1 and 5 [MQTT-4.7.2-1]: # and + at the first level do not match a topic starting with $', async () => {
    const broker = await openMqttBroker();
    const all = await connect(broker.url(), { clientId: 'dollar-all' });
    const seenAll = collect(all);
    await all.subscribeAsync(['#', '+/status'], { qos: 1 });
    const explicit = await connect5(broker.url(), { clientId: 'dollar-explicit' });
    const seenExplicit: string[] = [];
    explicit.on('message', (topic) => seenExplicit.push(topic));
    await explicit.subscribeAsync('$plant/status', { qos: 1 });
    const pub = await connect5(broker.url(), { clientId: 'dollar-pub' });
    await pub.publishAsync('$plant/status', 'up', { qos: 1 });
    await pub.publishAsync('line/status', 'marker', { qos: 1 });
    await waitFor(() => seenExplicit.length === 1, { what: 'the $ topic at its explicit subscriber' });
    await waitFor(() => seenAll.some((m) => m.topic === 'line/status'), { what: 'the marker' });
    assert.deepEqual(
      seenAll.map((m) => m.topic),
      ['line/status'],
      'one copy of the marker, no $ topic',
    );
    for (const client of [all, explicit, pub]) await client.endAsync();
    await broker.close();
  });
});

describe('overlapping subscriptions', () => {
  test('3.1.1 [MQTT-3.3.5-1]: a message matching two filters of one client arrives once, at the higher QoS', async () => {
    const broker = await openMqttBroker();
    for (const clean of [true, false]) {
      const sub = await connect(broker.url(), { clientId: `overlap-311-${clean}`, clean });
      const seen = collect(sub);
      await sub.subscribeAsync({ 'ov/+/x': { qos: 0 }, 'ov/#': { qos: 2 } });
      const pub = await connect(broker.url(), { clientId: `overlap-pub-${clean}` });
      await pub.publishAsync('ov/a/x', 'one', { qos: 2 });
      await pub.publishAsync('ov/marker', 'm', { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === 'ov/marker'), { what: 'the marker' });
      assert.deepEqual(
        seen.filter((m) => m.topic === 'ov/a/x').map((m) => m.qos),
        [2],
        `clean session ${clean}: one copy at QoS 2`,
      );
      await sub.endAsync();
      await pub.endAsync();
    }
    await broker.close();
  });

  test('5 [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4]: one copy at the maximum QoS, carrying both subscription identifiers', async () => {
    const broker = await openMqttBroker();
    const { client: sub, received } = await connectCollecting5(broker.url(), { clientId: 'overlap-5' });
    await sub.subscribeAsync('ov5/+/x', { qos: 0, properties: { subscriptionIdentifier: 11 } });
    await sub.subscribeAsync('ov5/#', { qos: 1, properties: { subscriptionIdentifier: 22 } });
    const pub = await connect5(broker.url(), { clientId: 'overlap-5-pub' });
    await pub.publishAsync('ov5/a/x', 'one', { qos: 1 });
    await pub.publishAsync('ov5/marker', 'm', { qos: 1 });
    await waitFor(() => received.some((m) => m.topic === 'ov5/marker'), { what: 'the marker' });
    const copies = received.filter((m) => m.topic === 'ov5/a/x');
    assert.equal(copies.length, 1, 'one copy');
    assert.equal(copies[0]!.qos, 1, 'the higher of the two subscription QoS');
    const ids = [copies[0]!.properties.subscriptionIdentifier].flat().map(Number);
    assert.deepEqual(
      ids.sort((a, b) => a - b),
      [11, 22],
    );
    await sub.endAsync();
    await pub.endAsync();
    await broker.close();
  });
});

describe('request / response information', () => {
  test('5 [MQTT-3.1.2-28]: CONNACK carries no response information, asked for or not', async () => {
    const broker = await openMqttBroker();
    for (const requestResponseInformation of [false, true]) {
      const { client, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, {
        clientId: `rri-${String(requestResponseInformation)}`,
        properties: { requestResponseInformation },
      });
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.properties?.responseInformation, undefined);
      client.close();
    }
    await broker.close();
  });

  test('5 [MQTT-3.3.2-15] [MQTT-3.3.2-16]: response topic and correlation data reach the responder unaltered', async () => {
    const broker = await openMqttBroker();
    const { client: responder, received } = await connectCollecting5(broker.url(), { clientId: 'rr-responder' });
    await responder.subscribeAsync('rr/request', { qos: 1 });
    const requester = await connect5(broker.url(), { clientId: 'rr-requester' });
    const correlationData = Buffer.from([0x00, 0xff, 0x10, 0x80]);
    await requester.publishAsync('rr/request', 'q', {
      qos: 1,
      properties: { responseTopic: 'rr/reply/42', correlationData },
    });
    await waitFor(() => received.length === 1, { what: 'the request' });
    assert.equal(received[0]!.properties.responseTopic, 'rr/reply/42');
    assert.deepEqual(received[0]!.properties.correlationData, correlationData);
    await responder.endAsync();
    await requester.endAsync();
    await broker.close();
  });
});

describe('shared subscriptions', () => {
  test('5 [MQTT-4.8.2-6]: a message a member refuses (PUBACK 0x80) is not sent to another member', async () => {
    const broker = await openMqttBroker();
    const { client: refusing } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'share-refusing' });
    refusing.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/sh/#', qos: 1 }] });
    await refusing.next('suback');
    const pub = await connect5(broker.url(), { clientId: 'share-pub' });
    await pub.publishAsync('sh/1', 'refused', { qos: 1 });
    const delivery = await refusing.next('publish');
    refusing.send({ cmd: 'puback', messageId: delivery.messageId, reasonCode: 0x80 });
    await waitFor(() => broker.engine.deadMessages.list({ reason: 'rejected' }).length === 1, {
      what: 'the refused message in the DMQ',
    });
    refusing.close();

    const { client: other, received } = await connectCollecting5(broker.url(), { clientId: 'share-other' });
    await other.subscribeAsync('$share/g/sh/#', { qos: 1 });
    await pub.publishAsync('sh/2', 'marker', { qos: 1 });
    await waitFor(() => received.length >= 1, { what: 'the marker at the other member' });
    assert.deepEqual(
      received.map((m) => m.payload),
      ['marker'],
    );
    await other.endAsync();
    await pub.endAsync();
    await broker.close();
  });

  test('5 [MQTT-4.8.2-3]: each member gets the QoS it was granted', async () => {
    const broker = await openMqttBroker();
    const { client: low, received: lowSeen } = await connectCollecting5(broker.url(), { clientId: 'share-q0' });
    await low.subscribeAsync('$share/q/shq/#', { qos: 0 });
    const { client: high, received: highSeen } = await connectCollecting5(broker.url(), { clientId: 'share-q2' });
    await high.subscribeAsync('$share/q/shq/#', { qos: 2 });
    const pub = await connect5(broker.url(), { clientId: 'share-q-pub' });
    for (let i = 0; i < 6; i++) await pub.publishAsync(`shq/${i}`, `m${i}`, { qos: 2 });
    await waitFor(() => lowSeen.length + highSeen.length === 6, { what: 'the 6 messages shared' });
    assert.ok(lowSeen.length > 0 && highSeen.length > 0, 'both members served');
    assert.deepEqual([...new Set(lowSeen.map((m) => m.qos))], [0]);
    assert.deepEqual([...new Set(highSeen.map((m) => m.qos))], [2]);
    for (const client of [low, high, pub]) await client.endAsync();
    await broker.close();
  });
});

describe('topic alias limits', () => {
  test('5 [MQTT-3.2.2-17] [MQTT-3.3.2-12]: the broker accepts every alias from 1 to its maximum; one above is DISCONNECT 0x94', async () => {
    const broker = await openMqttBroker({ topicAliasMaximum: 2 });
    const { client: sub, received } = await connectCollecting5(broker.url(), { clientId: 'alias-sub' });
    await sub.subscribeAsync('alias/#', { qos: 0 });
    const { client: raw, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'alias-raw' });
    assert.equal(connack.properties?.topicAliasMaximum, 2);
    for (const [alias, topic] of [
      [1, 'alias/one'],
      [2, 'alias/two'],
    ] as const)
      raw.send({ cmd: 'publish', topic, payload: Buffer.from(topic), qos: 0, properties: { topicAlias: alias } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('again'), qos: 0, properties: { topicAlias: 2 } });
    await waitFor(() => received.length === 3, { what: 'three messages through aliases 1 and 2' });
    assert.deepEqual(
      received.map((m) => m.topic),
      ['alias/one', 'alias/two', 'alias/two'],
    );
    raw.send({
      cmd: 'publish',
      topic: 'alias/three',
      payload: Buffer.from('x'),
      qos: 0,
      properties: { topicAlias: 3 },
    });
    const disconnect = await raw.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x94);
    await waitFor(() => raw.closed, { what: 'the connection closed' });
    await sub.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-26] [MQTT-3.1.2-27]: no outbound alias to a client with topic alias maximum 0; never above a client maximum of 1', async () => {
    const broker = await openMqttBroker();
    for (const topicAliasMaximum of [0, 1]) {
      const { client: raw } = await RawClient5.open(broker.mqtt.ports.tcp!, {
        clientId: `alias-out-${topicAliasMaximum}`,
        ...(topicAliasMaximum > 0 && { properties: { topicAliasMaximum } }),
      });
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'aout/#', qos: 0 }] });
      await raw.next('suback');
      const pub = await connect5(broker.url(), { clientId: `alias-out-pub-${topicAliasMaximum}` });
      for (const topic of ['aout/a', 'aout/b', 'aout/a', 'aout/b']) await pub.publishAsync(topic, 'x', { qos: 0 });
      await waitFor(() => raw.publishes().length === 4, { what: 'four deliveries' });
      const aliases = raw.publishes().map((p) => p.properties?.topicAlias);
      if (topicAliasMaximum === 0) assert.deepEqual(aliases, [undefined, undefined, undefined, undefined]);
      else
        assert.ok(
          aliases.every((alias) => alias === undefined || alias === 1),
          `aliases ${String(aliases)} ≤ 1`,
        );
      raw.close();
      await pub.endAsync();
    }
    await broker.close();
  });
});

describe('protocol violations close the connection', () => {
  test('3.1.1 [MQTT-3.1.0-2]: a second CONNECT closes the connection', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: 'twice', clean: true });
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      clientId: 'twice',
    });
    await waitFor(() => client.closed, { what: 'the connection closed' });
    await broker.close();
  });

  test('3.1.1 [MQTT-3.3.1-4] and 5 [MQTT-3.3.1-4]: a PUBLISH with both QoS bits set closes the connection', async () => {
    const broker = await openMqttBroker();
    for (const protocolVersion of [4, 5] as const) {
      const { client } = await RawClient.open(broker.mqtt.ports.tcp!, {
        clientId: `qos3-${protocolVersion}`,
        clean: true,
        protocolVersion,
      });
      // PUBLISH, QoS bits 11, topic "q", packet id 1, payload "x" (+ empty properties for 5).
      const body = [0x00, 0x01, 0x71, 0x00, 0x01, ...(protocolVersion === 5 ? [0x00] : []), 0x78];
      client.write(Buffer.from([0x36, body.length, ...body]));
      await waitFor(() => client.closed, { what: `the ${protocolVersion} connection closed` });
    }
    await broker.close();
  });
});

describe('DUP, retained messages and re-subscription', () => {
  test('3.1.1 [MQTT-3.3.1-3]: the DUP flag of an incoming PUBLISH is not passed on to subscribers', async () => {
    const broker = await openMqttBroker();
    const sub = await connect(broker.url(), { clientId: 'dup-sub' });
    const seen = collect(sub);
    await sub.subscribeAsync('dup/#', { qos: 1 });
    const { client: pub } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: 'dup-pub', clean: true });
    pub.send({ cmd: 'publish', topic: 'dup/x', payload: Buffer.from('d'), qos: 1, messageId: 5, dup: true });
    await pub.next('puback');
    await waitFor(() => seen.length === 1, { what: 'the message' });
    assert.equal(seen[0]!.dup, false);
    pub.close();
    await sub.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.3.1-7] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.3.1-12]: QoS 0 retain replaces, RETAIN 0 leaves it, an empty retained payload clears it', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'ret-pub' });
    const retainedOf = async (clientId: string): Promise<string[]> => {
      const sub = await connect(broker.url(), { clientId });
      const seen = collect(sub);
      await sub.subscribeAsync('ret/#', { qos: 1 });
      await pub.publishAsync('ret/marker', clientId, { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === 'ret/marker'), { what: 'the marker' });
      await sub.endAsync();
      return seen.filter((m) => m.retain).map((m) => m.payload);
    };
    await pub.publishAsync('ret/a', 'first', { qos: 1, retain: true });
    await pub.publishAsync('ret/a', 'second', { qos: 0, retain: true });
    await pub.publishAsync('ret/a', 'not retained', { qos: 1, retain: false });
    assert.deepEqual(await retainedOf('ret-sub-1'), ['second']);
    await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
    assert.deepEqual(await retainedOf('ret-sub-2'), []);
    await pub.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.2-7]: a retained message stays when the session that published it ends', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'ret-session', clean: false });
    await pub.publishAsync('keep/a', 'kept', { qos: 1, retain: true });
    await pub.endAsync();
    // The session ends: a clean connect with the same id discards it.
    const clean = await connect(broker.url(), { clientId: 'ret-session', clean: true });
    await clean.endAsync();
    const sub = await connect(broker.url(), { clientId: 'ret-session-sub' });
    const seen = collect(sub);
    await sub.subscribeAsync('keep/#', { qos: 1 });
    await waitFor(() => seen.length === 1, { what: 'the retained message' });
    assert.equal(seen[0]!.payload, 'kept');
    await sub.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.2-16] [MQTT-3.1.2-17]: a will is published retained only when Will Retain is 1', async () => {
    const broker = await openMqttBroker();
    for (const retain of [false, true]) {
      const leaving = await connect(broker.url(), {
        clientId: `will-retain-${retain}`,
        will: { topic: `wr/${retain}`, payload: Buffer.from(String(retain)), qos: 1, retain },
      });
      leaving.on('error', () => {});
      leaving.stream.destroy();
      await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the connection gone' });
    }
    // A later subscriber gets only the retained will (RETAIN 1 on a new subscription).
    const sub = await connect(broker.url(), { clientId: 'wr-sub' });
    const seen = collect(sub);
    await sub.subscribeAsync('wr/#', { qos: 1 });
    await sub.publishAsync('wr/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'wr/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.filter((m) => m.retain).map((m) => m.topic),
      ['wr/true'],
    );
    await sub.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.8.4-3]: SUBSCRIBE to the same filter replaces its QoS; messages arrive once', async () => {
    const broker = await openMqttBroker();
    const sub = await connect(broker.url(), { clientId: 'resub' });
    const seen = collect(sub);
    await sub.subscribeAsync('resub/#', { qos: 0 });
    await sub.subscribeAsync('resub/#', { qos: 2 });
    const pub = await connect(broker.url(), { clientId: 'resub-pub' });
    await pub.publishAsync('resub/a', 'x', { qos: 2 });
    await pub.publishAsync('resub/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'resub/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.filter((m) => m.topic === 'resub/a').map((m) => m.qos),
      [2],
    );
    await sub.endAsync();
    await pub.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.10.4-6]: an UNSUBSCRIBE of several filters gets one UNSUBACK and stops them all', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: 'unsub-many', clean: true });
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'um/a', qos: 0 },
        { topic: 'um/b', qos: 0 },
        { topic: 'um/c', qos: 0 },
      ],
    });
    await client.next('suback');
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['um/a', 'um/b'] });
    const unsuback = await client.next('unsuback');
    assert.equal(unsuback.messageId, 2);
    for (const topic of ['um/a', 'um/b', 'um/c'])
      client.send({ cmd: 'publish', topic, payload: Buffer.from(topic), qos: 0, retain: false });
    await waitFor(() => client.publishes().length >= 1, { what: 'the message on the kept filter' });
    client.send({ cmd: 'pingreq' });
    await client.next('pingresp');
    assert.equal(client.packets.filter((p) => p.cmd === 'unsuback').length, 0, 'one UNSUBACK only');
    assert.deepEqual(
      client.publishes().map((p) => p.topic),
      ['um/c'],
    );
    client.close();
    await broker.close();
  });
});

describe('shared subscription names', () => {
  test('5 [MQTT-4.8.2-1] [MQTT-4.8.2-2]: an empty ShareName or a wildcard one is refused in SUBACK (0x8F); g+ (a malformed filter) closes', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'share-names' });
    client.send({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: '$share//a', qos: 1 },
        { topic: '$share/+/a', qos: 1 },
        { topic: '$share/g/a', qos: 1 },
      ],
    });
    const suback = await client.next('suback');
    assert.deepEqual(suback.granted, [0x8f, 0x8f, 1]);
    assert.equal(client.closed, false);
    client.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: '$share/g+/a', qos: 1 }] });
    await waitFor(() => client.closed, { what: 'the connection closed on a malformed filter' });
    await broker.close();
  });
});

describe('no local on a shared subscription', () => {
  test('5 [MQTT-3.8.3-4]: No Local on a $share subscription is a protocol error: DISCONNECT 0x82 and the connection closes', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'share-nl' });
    client.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: '$share/g/nl/#', qos: 1, nl: true }] });
    const disconnect = await client.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x82);
    await waitFor(() => client.closed, { what: 'the connection closed' });
    // A non-shared No Local subscription is fine.
    const { client: plain } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'plain-nl' });
    plain.send({ cmd: 'subscribe', messageId: 6, subscriptions: [{ topic: 'nl/#', qos: 1, nl: true }] });
    const suback = await plain.next('suback');
    assert.deepEqual(suback.granted, [1]);
    plain.close();
    await broker.close();
  });
});
