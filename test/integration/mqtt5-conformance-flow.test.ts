import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient5, connectCollecting5, type RawPacket } from './mqtt5-helpers.ts';

// MQTT 5 flow control (§3.3.4, §4.9), shared subscriptions (§4.8.2) and overlapping subscriptions
// of persistent sessions, on raw sockets so that nothing is acknowledged unless the test says so
// (docs/mqtt-conformance.md).

/**
 * A raw MQTT 5 client that records the most QoS 1/2 PUBLISHes it ever had unacknowledged, and
 * acknowledges them (PUBACK, or PUBREC then PUBCOMP) only when told.
 */
class WindowWatch {
  maxInFlight = 0;
  private unacked = 0;
  private seen = 0;
  constructor(readonly raw: RawClient5) {}

  /** Counts the PUBLISHes received since the last call (packets stay in raw.packets). */
  update(): void {
    const publishes = this.raw.publishes().filter((p) => (p.qos ?? 0) > 0);
    this.unacked += publishes.length - this.seen;
    this.seen = publishes.length;
    this.maxInFlight = Math.max(this.maxInFlight, this.unacked);
  }

  /** Acknowledges the oldest unacknowledged PUBLISH and returns it. */
  async ackOne(): Promise<RawPacket> {
    const packet = await this.raw.next('publish');
    this.seen--;
    if (packet.qos === 2) {
      this.raw.send({ cmd: 'pubrec', messageId: packet.messageId });
      await this.raw.next('pubrel');
      this.raw.send({ cmd: 'pubcomp', messageId: packet.messageId });
    } else if (packet.qos === 1) this.raw.send({ cmd: 'puback', messageId: packet.messageId });
    if ((packet.qos ?? 0) > 0) this.unacked--;
    return packet;
  }

  /** A PINGREQ answered: every PUBLISH the broker wrote before it has arrived. */
  async roundTrip(): Promise<void> {
    this.raw.send({ cmd: 'pingreq' });
    await this.raw.next('pingresp');
    this.update();
  }
}

describe('receive maximum', () => {
  for (const persistent of [false, true]) {
    const kinds = persistent ? 'session queue, $queue/ and $share/' : 'live, $queue/ and $share/';
    test(`5 [MQTT-3.3.4-9] [MQTT-4.9.0-1] [MQTT-4.9.0-2]: a client with ${kinds} subscriptions never has more unacknowledged QoS 1/2 PUBLISHes than its receive maximum`, async () => {
      const broker = await openMqttBroker();
      await broker.engine.ensureQueue('mixq', { subscriptions: ['mix/q/#'] });
      const { client: raw } = await RawClient5.open(broker.mqtt.ports.tcp!, {
        clientId: `mix-${persistent}`,
        clean: !persistent,
        properties: { receiveMaximum: 2, ...(persistent && { sessionExpiryInterval: 600 }) },
      });
      raw.send({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [
          { topic: 'mix/l/#', qos: 2 },
          { topic: '$queue/mixq', qos: 1 },
          { topic: '$share/g/mix/sh/#', qos: 1 },
        ],
      });
      assert.deepEqual((await raw.next('suback')).granted, [2, 1, 1]);
      const watch = new WindowWatch(raw);
      const topics = ['mix/l', 'mix/q', 'mix/sh'];
      for (let i = 0; i < 4; i++)
        for (const topic of topics) await broker.engine.publish({ topic: `${topic}/${i}`, payload: `${topic}/${i}` });
      await waitFor(() => raw.publishes().length >= 2, { what: 'the first window' });
      await watch.roundTrip();
      assert.equal(raw.publishes().length, 2, 'exactly the receive maximum before any acknowledgement');
      const received: string[] = [];
      while (received.length < 12) {
        received.push((await watch.ackOne()).payload!.toString());
        await watch.roundTrip();
      }
      assert.equal(watch.maxInFlight, 2, 'never more than 2 in flight');
      assert.deepEqual(received.sort(), topics.flatMap((topic) => [0, 1, 2, 3].map((i) => `${topic}/${i}`)).sort());
      raw.close();
      await broker.close();
    });
  }

  test('5 [MQTT-4.9.0-3] [MQTT-3.3.4-10]: with the send quota at 0 the broker still answers PINGREQ, SUBSCRIBE, UNSUBSCRIBE and PUBLISH, and still sends QoS 0', async () => {
    const broker = await openMqttBroker();
    const { client: raw } = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'quota0',
      properties: { receiveMaximum: 1 },
    });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q0/#', qos: 1 }] });
    await raw.next('suback');
    const pub = await connect(broker.url(), { clientId: 'quota0-pub' });
    await pub.publishAsync('q0/a', 'held', { qos: 1 });
    await pub.publishAsync('q0/b', 'waits', { qos: 1 });
    const first = await raw.next('publish'); // quota now 0: not acknowledged
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
    raw.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'other/#', qos: 0 }] });
    assert.equal((await raw.next('suback')).messageId, 2);
    raw.send({ cmd: 'publish', topic: 'elsewhere', payload: Buffer.from('x'), qos: 1, messageId: 3 });
    assert.equal((await raw.next('puback')).messageId, 3);
    await pub.publishAsync('other/zero', 'qos0', { qos: 0 });
    const zero = await raw.next('publish');
    assert.equal(zero.qos, 0, 'QoS 0 still flows at quota 0');
    raw.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['other/#'] });
    assert.equal((await raw.next('unsuback')).messageId, 4);
    assert.equal(raw.publishes().length, 0, 'the second QoS 1 message waits for the quota');
    raw.send({ cmd: 'puback', messageId: first.messageId });
    assert.equal((await raw.next('publish')).payload!.toString(), 'waits');
    raw.close();
    await pub.endAsync();
    await broker.close();
  });

  test("5 [MQTT-3.3.4-7] (server side, §4.13): a client with more QoS 2 PUBLISHes awaiting PUBREL than the broker's Receive Maximum gets DISCONNECT 0x93", async () => {
    const broker = await openMqttBroker({ maxInFlightPerClient: 2 });
    const { client: raw, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'too-many' });
    assert.equal(connack.properties?.receiveMaximum, 2);
    for (const messageId of [1, 2]) {
      raw.send({ cmd: 'publish', topic: 'rm/a', payload: Buffer.from('x'), qos: 2, messageId });
      await raw.next('pubrec');
    }
    raw.send({ cmd: 'publish', topic: 'rm/a', payload: Buffer.from('x'), qos: 2, messageId: 3 });
    const disconnect = await raw.next('disconnect');
    assert.equal(disconnect.reasonCode, 0x93, 'receive maximum exceeded');
    await waitFor(() => raw.closed, { what: 'the connection closed' });
    await broker.close();
  });
});

describe('shared subscriptions', () => {
  test('5 §4.8.2: each message of a $share group goes to one member; a QoS 1 message a member leaves unacknowledged goes to another member, DUP set', async () => {
    const broker = await openMqttBroker();
    const members = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: `member-${name}` });
        client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/grp/sh5/#', qos: 1 }] });
        await client.next('suback');
        return client;
      }),
    );
    const { client: plain, received: plainSeen } = await connectCollecting5(broker.url(), { clientId: 'not-shared' });
    await plain.subscribeAsync('sh5/#', { qos: 1 });
    const pub = await connect(broker.url(), { clientId: 'sh5-pub', protocolVersion: 5 });
    for (let i = 0; i < 10; i++) await pub.publishAsync(`sh5/${i}`, `m${i}`, { qos: 1 });
    await waitFor(() => plainSeen.length === 10, { what: 'all ten at the non-shared subscriber' });
    await waitFor(() => members[0]!.publishes().length + members[1]!.publishes().length === 10, {
      what: 'all ten in the group',
    });
    const payloads = members.flatMap((m) => m.publishes().map((p) => p.payload!.toString()));
    assert.deepEqual([...payloads].sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort(), 'each exactly once');
    // Member b acknowledges what it has; member a leaves without acknowledging.
    for (const p of members[1]!.publishes()) members[1]!.send({ cmd: 'puback', messageId: p.messageId });
    const leftBehind = members[0]!.publishes().map((p) => p.payload!.toString());
    assert.ok(leftBehind.length > 0 && leftBehind.length < 10, 'both members were served');
    members[0]!.close();
    const before = members[1]!.publishes().length;
    await waitFor(() => members[1]!.publishes().length === before + leftBehind.length, {
      what: "member a's unacknowledged messages at member b",
    });
    const redelivered = members[1]!.publishes().slice(before);
    assert.deepEqual(redelivered.map((p) => p.payload!.toString()).sort(), [...leftBehind].sort());
    assert.ok(
      redelivered.every((p) => p.dup === true),
      'DUP 1: the client may have seen it',
    );
    members[1]!.close();
    await plain.endAsync();
    await pub.endAsync();
    await broker.close();
  });
});

describe('overlapping subscriptions of a persistent session', () => {
  test('5 [MQTT-3.3.4-2] [MQTT-3.3.4-3] [MQTT-3.3.4-4]: a session kept across a reconnect gets one copy at the maximum QoS with every matching subscription identifier', async () => {
    const broker = await openMqttBroker();
    const options = { clientId: 'overlap-kept', clean: false, properties: { sessionExpiryInterval: 600 } };
    const first = await connectCollecting5(broker.url(), options);
    await first.client.subscribeAsync('ovk/+/x', { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await first.client.subscribeAsync('ovk/#', { qos: 2, properties: { subscriptionIdentifier: 6 } });
    await first.client.subscribeAsync('ovk/a/+', { qos: 0 });
    await first.client.endAsync();
    const pub = await connect(broker.url(), { clientId: 'overlap-kept-pub', protocolVersion: 5 });
    await pub.publishAsync('ovk/a/x', 'offline', { qos: 2 });
    const back = await connectCollecting5(broker.url(), { ...options, clean: false });
    assert.equal(back.sessionPresent, true);
    await waitFor(() => back.received.length === 1, { what: 'the queued copy' });
    await pub.publishAsync('ovk/a/x', 'online', { qos: 2 });
    await pub.publishAsync('ovk/marker', 'm', { qos: 1 });
    await waitFor(() => back.received.some((m) => m.topic === 'ovk/marker'), { what: 'the marker' });
    const copies = back.received.filter((m) => m.topic === 'ovk/a/x');
    assert.deepEqual(
      copies.map((m) => m.payload),
      ['offline', 'online'],
      'one copy of each',
    );
    for (const copy of copies) {
      assert.equal(copy.qos, 2, 'the highest subscription QoS');
      const ids = [copy.properties.subscriptionIdentifier].flat().map(Number);
      assert.deepEqual(
        ids.sort((a, b) => a - b),
        [5, 6],
      );
    }
    await back.client.endAsync();
    await pub.endAsync();
    await broker.close();
  });
});
