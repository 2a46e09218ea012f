import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';
import { RawClient5 } from './mqtt5-helpers.ts';

// The QoS 1 and QoS 2 protocol flows with the broker as receiver and as sender (MQTT 3.1.1 §4.3;
// MQTT 5 §4.3, §3.5–3.7), driven packet by packet on raw sockets. "3.1.1" / "5" say which
// specification's numbering a test name uses (docs/mqtt-conformance.md).

/** Waits until the wall clock is past `deadline` (message expiry is about time passing). */
async function waitPast(deadline: number): Promise<void> {
  await waitFor(() => Date.now() > deadline, { what: 'the message expiry', timeoutMs: deadline - Date.now() + 5000 });
}

describe('the broker as QoS receiver', () => {
  for (const version of [4, 5] as const) {
    const ids = version === 4 ? '3.1.1 [MQTT-4.3.3-2]' : '5 [MQTT-4.3.3-10] [MQTT-4.3.3-12] [MQTT-4.3.2-5]';
    test(`${ids}: a QoS 2 PUBLISH repeated before PUBREL is acknowledged again but forwarded once; after PUBCOMP (or PUBACK for QoS 1) the same packet id is a new message`, async () => {
      const broker = await openMqttBroker();
      const watcher = await connect(broker.url(), { clientId: `rx-watch-${version}` });
      const seen = collect(watcher);
      await watcher.subscribeAsync('rx/#', { qos: 2 });
      const pub =
        version === 4
          ? (await RawClient.open(broker.mqtt.ports.tcp!, { clientId: `rx-${version}`, clean: true })).client
          : (await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: `rx-${version}` })).client;
      const publish = (payload: string, qos: 1 | 2, dup = false) =>
        pub.send({ cmd: 'publish', topic: 'rx/a', payload: Buffer.from(payload), qos, messageId: 7, dup });
      publish('first', 2);
      assert.equal((await pub.next('pubrec')).messageId, 7);
      publish('first', 2, true); // the same PUBLISH again, PUBREL not sent yet
      assert.equal((await pub.next('pubrec')).messageId, 7, 'a PUBREC again');
      pub.send({ cmd: 'pubrel', messageId: 7 });
      assert.equal((await pub.next('pubcomp')).messageId, 7);
      publish('second', 2); // id 7 again after PUBCOMP: a new message
      await pub.next('pubrec');
      pub.send({ cmd: 'pubrel', messageId: 7 });
      await pub.next('pubcomp');
      publish('third', 1);
      await pub.next('puback');
      publish('fourth', 1); // id 7 again after PUBACK: a new message
      await pub.next('puback');
      await waitFor(() => seen.length >= 4, { what: 'the four messages' });
      await watcher.publishAsync('rx/marker', 'm', { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === 'rx/marker'), { what: 'the marker' });
      assert.deepEqual(
        seen.map((m) => m.payload),
        ['first', 'second', 'third', 'fourth', 'm'],
      );
      pub.close();
      await watcher.endAsync();
      await broker.close();
    });
  }

  test('5 [MQTT-4.3.3-9] [MQTT-3.5.2-1]: a refused QoS 2 PUBLISH gets a PUBREC failure code from the list, and its packet id then starts a new message', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'refrec-watch' });
    const seen = collect(watcher);
    await watcher.subscribeAsync('rr2/#', { qos: 2 });
    const { client: pub } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'refrec' });
    pub.send({ cmd: 'publish', topic: '$SYS/forbidden', payload: Buffer.from('no'), qos: 2, messageId: 9 });
    const refused = await pub.next('pubrec');
    assert.equal(refused.messageId, 9);
    assert.equal(refused.reasonCode, 0x87, 'not authorized');
    pub.send({ cmd: 'publish', topic: 'rr2/ok', payload: Buffer.from('yes'), qos: 2, messageId: 9 });
    const accepted = await pub.next('pubrec');
    assert.equal(accepted.reasonCode ?? 0, 0);
    pub.send({ cmd: 'pubrel', messageId: 9 });
    const pubcomp = await pub.next('pubcomp');
    assert.equal(pubcomp.reasonCode ?? 0, 0, '[MQTT-3.7.2-1] PUBCOMP success');
    await waitFor(() => seen.length === 1, { what: 'the accepted message' });
    assert.equal(seen[0]!.payload, 'yes');
    assert.equal(pub.closed, false, 'the refusal kept the connection');
    pub.close();
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-4.3.3-13] [MQTT-3.7.2-1]: a QoS 2 flow is completed even though the message expired before PUBREL; an unknown PUBREL gets a PUBCOMP code from the list', async () => {
    const broker = await openMqttBroker();
    const { client: pub } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'rx-expired' });
    const sentAt = Date.now();
    pub.send({
      cmd: 'publish',
      topic: 'exp/a',
      payload: Buffer.from('short-lived'),
      qos: 2,
      messageId: 3,
      properties: { messageExpiryInterval: 1 },
    });
    await pub.next('pubrec');
    await waitPast(sentAt + 1200);
    pub.send({ cmd: 'pubrel', messageId: 3 });
    const pubcomp = await pub.next('pubcomp');
    assert.equal(pubcomp.messageId, 3);
    assert.equal(pubcomp.reasonCode ?? 0, 0);
    pub.send({ cmd: 'pubrel', messageId: 4 }); // never published
    const unknown = await pub.next('pubcomp');
    assert.ok([0x00, 0x92].includes(unknown.reasonCode ?? 0), `PUBCOMP 0x${(unknown.reasonCode ?? 0).toString(16)}`);
    assert.equal(pub.closed, false);
    pub.close();
    await broker.close();
  });
});

describe('the broker as QoS sender', () => {
  test('5 [MQTT-3.6.2-1] [MQTT-4.3.3-13]: the broker answers PUBREC with PUBREL (success code), also when the message expired meanwhile', async () => {
    const broker = await openMqttBroker();
    const { client: sub } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'tx-expired' });
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'txe/#', qos: 2 }] });
    await sub.next('suback');
    const pub = await connect(broker.url(), { clientId: 'tx-pub', protocolVersion: 5 });
    const sentAt = Date.now();
    await pub.publishAsync('txe/a', 'short-lived', { qos: 2, properties: { messageExpiryInterval: 1 } });
    const delivery = await sub.next('publish');
    assert.equal(delivery.qos, 2);
    await waitPast(sentAt + 1200);
    sub.send({ cmd: 'pubrec', messageId: delivery.messageId });
    const pubrel = await sub.next('pubrel');
    assert.equal(pubrel.messageId, delivery.messageId);
    assert.equal(pubrel.reasonCode ?? 0, 0, 'PUBREL 0x00 success');
    sub.send({ cmd: 'pubcomp', messageId: delivery.messageId });
    sub.send({ cmd: 'pingreq' });
    await sub.next('pingresp');
    assert.equal(sub.publishes().length, 0, 'no PUBLISH re-sent after PUBREL');
    sub.close();
    await pub.endAsync();
    await broker.close();
  });
});
