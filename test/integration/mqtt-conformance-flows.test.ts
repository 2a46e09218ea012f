import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { frame } from './mqtt-bytes.ts';
import { connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';
import { RawClient5 } from './mqtt5-helpers.ts';

// PUBLISH, SUBSCRIBE and UNSUBSCRIBE flows on raw sockets (MQTT 3.1.1 §3.3, §3.8, §3.10, §4.3;
// MQTT 5 the same sections): packet identifiers, DUP, re-subscription, unsubscription and the QoS
// 1 / 2 receiver rules. "3.1.1" / "5" say which specification's numbering a test name uses
// (docs/mqtt-conformance.md).

/** A raw client of either version (both parse with mqtt-packet; 3.1.1 through RawClient). */
async function openRaw(
  port: number,
  version: 4 | 5,
  clientId: string,
  persistent = false,
): Promise<RawClient | RawClient5> {
  if (version === 4) return (await RawClient.open(port, { clientId, clean: !persistent })).client;
  const properties = persistent ? { sessionExpiryInterval: 600 } : {};
  return (await RawClient5.open(port, { clientId, clean: !persistent, properties })).client;
}

const versions = [4, 5] as const;

describe('packet identifiers and DUP', () => {
  test('3.1.1 [MQTT-2.3.1-1]: QoS 1 and 2 PUBLISHes from the broker carry a non-zero packet identifier, QoS 0 none', async () => {
    const broker = await openMqttBroker();
    const sub = await openRaw(broker.mqtt.ports.tcp!, 4, 'ids');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ids/#', qos: 2 }] });
    await sub.next('suback');
    const pub = await connect(broker.url(), { clientId: 'ids-pub' });
    for (const qos of [0, 1, 2] as const) await pub.publishAsync(`ids/${qos}`, 'x', { qos });
    await waitFor(() => sub.publishes().length === 3, { what: 'three deliveries' });
    const byQos = new Map(sub.publishes().map((p) => [p.qos, p.messageId]));
    assert.equal(byQos.get(0), undefined);
    assert.ok(byQos.get(1)! > 0 && byQos.get(2)! > 0, `ids ${String([...byQos])}`);
    sub.close();
    await pub.endAsync();
    await broker.close();
  });

  for (const version of versions) {
    const name = version === 4 ? '3.1.1 [MQTT-3.3.1-2]' : '5 [MQTT-3.3.1-2]';
    test(`${name}: a message redelivered at QoS 0 carries DUP 0 (it carried DUP 1 at QoS 1)`, async () => {
      const broker = await openMqttBroker();
      await broker.engine.ensureQueue('dupq', { subscriptions: ['dupq/#'] });
      const first = await openRaw(broker.mqtt.ports.tcp!, version, 'dup-first');
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$queue/dupq', qos: 1 }] });
      await first.next('suback');
      await broker.engine.publish({ topic: 'dupq/a', payload: 'x' });
      const delivered = await first.next('publish');
      assert.equal(delivered.dup, false);
      first.close(); // no PUBACK: released, delivery count 2
      const second = await openRaw(broker.mqtt.ports.tcp!, version, 'dup-second');
      second.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$queue/dupq', qos: 1 }] });
      await second.next('suback');
      const redelivered = await second.next('publish');
      assert.equal(redelivered.dup, true, 'DUP 1 on a QoS 1 redelivery [MQTT-3.3.1-1]');
      second.close();
      const third = await openRaw(broker.mqtt.ports.tcp!, version, 'dup-third');
      third.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$queue/dupq', qos: 0 }] });
      await third.next('suback');
      const atQos0 = await third.next('publish');
      assert.equal(atQos0.qos, 0);
      assert.equal(atQos0.dup, false, 'never DUP on QoS 0');
      third.close();
      await broker.close();
    });
  }

  test('5 [MQTT-3.3.1-3]: the DUP flag of an incoming MQTT 5 PUBLISH is not passed on to subscribers', async () => {
    const broker = await openMqttBroker();
    const sub = await openRaw(broker.mqtt.ports.tcp!, 5, 'dup5-sub');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup5/#', qos: 1 }] });
    await sub.next('suback');
    const pub = await openRaw(broker.mqtt.ports.tcp!, 5, 'dup5-pub');
    pub.send({ cmd: 'publish', topic: 'dup5/x', payload: Buffer.from('d'), qos: 1, messageId: 5, dup: true });
    await pub.next('puback');
    const delivered = await sub.next('publish');
    assert.equal(delivered.dup, false);
    sub.close();
    pub.close();
    await broker.close();
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE', () => {
  for (const version of versions) {
    const name = version === 4 ? '3.1.1 [MQTT-3.8.3-3] [MQTT-3.10.3-2]' : '5 [MQTT-3.8.3-2] [MQTT-3.10.3-2]';
    test(`${name}: a SUBSCRIBE or UNSUBSCRIBE without any topic filter closes the connection`, async () => {
      const broker = await openMqttBroker();
      const properties = version === 5 ? [0] : [];
      for (const bytes of [
        frame(0x82, Buffer.from([0, 1, ...properties])),
        frame(0xa2, Buffer.from([0, 2, ...properties])),
      ]) {
        const client = await openRaw(broker.mqtt.ports.tcp!, version, `nofilter-${version}`);
        client.write(bytes);
        await waitFor(() => client.closed, { what: 'the connection closed' });
        // No SUBACK / UNSUBACK; MQTT 5 is told why first: DISCONNECT 0x82 (protocol error).
        assert.deepEqual(
          client.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode]),
          version === 5 ? [['disconnect', 0x82]] : [],
        );
      }
      await broker.close();
    });

    const resub = version === 4 ? '3.1.1 [MQTT-3.8.4-3]' : '5 [MQTT-3.8.4-3] [MQTT-3.8.4-4]';
    test(`${resub}: SUBSCRIBE to an existing filter replaces it, re-sends the retained message and loses nothing (clean and persistent)`, async () => {
      const broker = await openMqttBroker();
      const pub = await connect(broker.url(), { clientId: `resub-pub-${version}` });
      await pub.publishAsync('rs/retained', 'kept', { qos: 1, retain: true });
      for (const persistent of [false, true]) {
        const sub = await openRaw(broker.mqtt.ports.tcp!, version, `resub-${version}-${persistent}`, persistent);
        sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rs/#', qos: 0 }] });
        await sub.next('suback');
        const retained = await sub.next('publish');
        assert.equal(retained.payload!.toString(), 'kept');
        await pub.publishAsync('rs/before', 'before', { qos: 2 });
        await waitFor(() => sub.publishes().length === 1, { what: 'the message at QoS 0' });
        assert.equal(sub.publishes()[0]!.qos, 0);
        sub.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'rs/#', qos: 2 }] });
        assert.deepEqual((await sub.next('suback')).granted, [2]);
        await pub.publishAsync('rs/after', 'after', { qos: 2 });
        await waitFor(() => sub.publishes().length === 3, { what: 'the retained message again and the new one' });
        const got = sub.publishes().map((p) => `${p.payload!.toString()}@${p.qos}${p.retain ? 'r' : ''}`);
        // The retained message again (Retain Handling 0), flagged retained; the new one at QoS 2.
        assert.deepEqual(got.slice(1).sort(), ['after@2', 'kept@1r'].sort(), got.join(' '));
        for (const p of sub.publishes())
          if (p.qos === 2) sub.send({ cmd: 'pubrec', messageId: p.messageId });
          else if (p.qos === 1) sub.send({ cmd: 'puback', messageId: p.messageId });
        sub.send({ cmd: 'pingreq' });
        await sub.next('pingresp');
        sub.close();
      }
      await pub.endAsync();
      await broker.close();
    });

    const unsub =
      version === 4 ? '3.1.1 [MQTT-3.10.4-1] [MQTT-3.10.4-2]' : '5 [MQTT-3.10.4-1] [MQTT-3.10.4-2] [MQTT-3.10.4-6]';
    test(`${unsub}: UNSUBSCRIBE compares filters byte for byte and stops only what it deleted (clean and persistent)`, async () => {
      const broker = await openMqttBroker();
      const pub = await connect(broker.url(), { clientId: `unsub-pub-${version}` });
      for (const persistent of [false, true]) {
        const sub = await openRaw(broker.mqtt.ports.tcp!, version, `unsub-${version}-${persistent}`, persistent);
        sub.send({
          cmd: 'subscribe',
          messageId: 1,
          subscriptions: [
            { topic: 'us/+', qos: 1 },
            { topic: 'us/b', qos: 1 },
          ],
        });
        await sub.next('suback');
        // Neither 'us/B' nor 'us/#' is byte for byte a subscribed filter: nothing is deleted.
        sub.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['us/B', 'us/#', 'us/+'] });
        const unsuback = await sub.next('unsuback');
        assert.equal(unsuback.messageId, 2);
        if (version === 5) assert.deepEqual(unsuback.granted, [0x11, 0x11, 0x00], 'one UNSUBACK, a code per filter');
        for (const topic of ['us/a', 'us/b']) await pub.publishAsync(topic, topic, { qos: 1 });
        await waitFor(() => sub.publishes().length >= 1, { what: 'the message on the kept filter' });
        sub.send({ cmd: 'pingreq' });
        await sub.next('pingresp');
        await pub.publishAsync('us/b', 'marker', { qos: 1 });
        await waitFor(() => sub.publishes().length >= 2, { what: 'the marker' });
        assert.deepEqual(
          sub.publishes().map((p) => p.topic),
          ['us/b', 'us/b'],
          'us/a (only us/+ matched it) stopped; us/b kept',
        );
        assert.equal(sub.packets.filter((p) => p.cmd === 'unsuback').length, 0, 'one UNSUBACK only');
        for (const p of sub.publishes()) sub.send({ cmd: 'puback', messageId: p.messageId });
        sub.close();
      }
      await pub.endAsync();
      await broker.close();
    });

    const inflight = version === 4 ? '3.1.1 [MQTT-3.10.4-3]' : '5 [MQTT-3.10.4-3]';
    test(`${inflight}: QoS 1 and 2 deliveries in flight when their filter is unsubscribed are completed`, async () => {
      const broker = await openMqttBroker();
      const clientId = `inflight-${version}`;
      const sub = await openRaw(broker.mqtt.ports.tcp!, version, clientId, true);
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'if/#', qos: 2 }] });
      await sub.next('suback');
      const pub = await connect(broker.url(), { clientId: `inflight-pub-${version}` });
      await pub.publishAsync('if/1', 'one', { qos: 1 });
      await pub.publishAsync('if/2', 'two', { qos: 2 });
      await waitFor(() => sub.publishes().length === 2, { what: 'both deliveries' });
      sub.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['if/#'] });
      await sub.next('unsuback');
      const [one, two] = [sub.publishes().find((p) => p.qos === 1)!, sub.publishes().find((p) => p.qos === 2)!];
      sub.send({ cmd: 'puback', messageId: one.messageId });
      sub.send({ cmd: 'pubrec', messageId: two.messageId });
      const pubrel = await sub.next('pubrel');
      assert.equal(pubrel.messageId, two.messageId, 'the QoS 2 flow goes on after UNSUBACK');
      sub.send({ cmd: 'pubcomp', messageId: two.messageId });
      const queue = `mqtt/${clientId}`;
      await waitFor(() => broker.engine.getQueue(queue).depth === 0, { what: 'both settled in the session queue' });
      sub.close();
      await pub.endAsync();
      await broker.close();
    });
  }
});
