import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';
import { RawClient5, collect5, connect5, connectCollecting5 } from './mqtt5-helpers.ts';

// Normative statements of MQTT 3.1.1 and 5.0 that Sluice once missed (issue 19), each test named by
// the statement it proves (docs/mqtt-conformance.md maps every statement). Real sockets, MQTT.js,
// raw mqtt-packet clients, real SQLite.

/** Waits until the wall clock is past `deadline` (these tests are about time passing). */
async function waitPast(deadline: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()) + 100));
}

/** Ends a connection the way a pulled cable or a crashed client does: no DISCONNECT. */
function dropConnection(client: MqttClient): void {
  client.on('error', () => {});
  client.stream.destroy();
}

describe('CONNECT: client identifier', () => {
  test('3.1.1 [MQTT-3.1.3-8]: an empty client id with CleanSession 0 gets CONNACK 0x02 and the connection closes', async () => {
    const broker = await openMqttBroker();
    const { client, connack } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: '', clean: false });
    assert.equal(connack.returnCode, 0x02, 'identifier rejected');
    assert.equal(connack.sessionPresent, false);
    await waitFor(() => client.closed, { what: 'the connection closed by the broker' });
    assert.equal(broker.mqtt.stats().clients, 0);
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.3-6]: an empty client id with CleanSession 1 is accepted', async () => {
    const broker = await openMqttBroker();
    const { client, connack } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: '', clean: true });
    assert.equal(connack.returnCode, 0);
    assert.equal(connack.sessionPresent, false);
    client.close();
    await broker.close();
  });

  test('3.1 (3.1.1 [MQTT-3.1.3-9]): an empty client id is rejected with CONNACK 0x02 whatever CleanSession says', async () => {
    const broker = await openMqttBroker();
    const { connack } = await RawClient.open(broker.mqtt.ports.tcp!, { clientId: '', clean: true, protocolVersion: 3 });
    assert.equal(connack.returnCode, 0x02);
    await broker.close();
  });

  test('5 [MQTT-3.1.3-6] [MQTT-3.2.2-16]: an empty client id with Clean Start 0 is assigned one (not refused)', async () => {
    const broker = await openMqttBroker();
    const { client, connack } = await RawClient.open(broker.mqtt.ports.tcp!, {
      clientId: '',
      clean: false,
      protocolVersion: 5,
    });
    assert.equal(connack.reasonCode, 0);
    assert.match(String(connack.properties?.assignedClientIdentifier), /.+/);
    client.close();
    await broker.close();
  });
});

describe('MQTT 5 will delay interval', () => {
  const will = (topic: string, willDelayInterval: number) => ({
    topic,
    payload: Buffer.from(`will of ${topic}`),
    qos: 1 as const,
    retain: false,
    properties: { willDelayInterval },
  });

  test('5 [MQTT-3.1.2-8]: the will is published once the will delay has passed, not when the connection drops', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-1' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/1/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-1',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('wd/1/will', 2),
    });
    const droppedAt = Date.now();
    dropConnection(leaving);
    await waitFor(() => seen.length === 1, { timeoutMs: 15_000, what: 'the delayed will' });
    assert.ok(Date.now() >= droppedAt + 2000, 'not before the will delay');
    assert.equal(seen[0]!.topic, 'wd/1/will');
    assert.equal(seen[0]!.properties.willDelayInterval, undefined, 'will delay is not forwarded');
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.3-9]: a client back on its session (Clean Start 0) within the will delay: the will is never sent', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-2' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/2/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-2',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('wd/2/will', 2),
    });
    const droppedAt = Date.now();
    dropConnection(leaving);
    await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'the dropped connection gone' });
    const back = await connect5(broker.url(), {
      clientId: 'wd-2',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    await waitPast(droppedAt + 2000);
    // A marker after the would-be due time: once it is here, the will would be too.
    await back.publishAsync('wd/2/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'wd/2/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['wd/2/marker'],
    );
    await back.endAsync();
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-8]: the session ending before the will delay publishes the will then', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-3' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/3/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-3',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
      will: will('wd/3/will', 3600),
    });
    const droppedAt = Date.now();
    dropConnection(leaving);
    await waitFor(() => seen.length === 1, { timeoutMs: 15_000, what: 'the will at session end' });
    assert.ok(Date.now() >= droppedAt + 1000, 'not before the session expiry');
    await waitFor(() => !broker.engine.queueByName('mqtt/wd-3'), { what: 'the session discarded' });
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-8]: a session that ends with its connection (expiry 0) publishes a delayed will at once', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-4' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/4/#', { qos: 1 });
    const leaving = await connect5(broker.url(), { clientId: 'wd-4', will: will('wd/4/will', 3600) });
    dropConnection(leaving);
    await waitFor(() => seen.length === 1, { what: 'the will, not held for an hour' });
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-8]: a new connection with Clean Start 1 ends the old session: its held will goes out then', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-5' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/5/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-5',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      will: will('wd/5/will', 3600),
    });
    dropConnection(leaving);
    await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'the dropped connection gone' });
    const fresh = await connect5(broker.url(), { clientId: 'wd-5', clean: true });
    await waitFor(() => seen.length === 1, { what: 'the old session’s will' });
    await fresh.endAsync();
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-10] [MQTT-3.14.4-3]: DISCONNECT 0x00 deletes a held-back will: nothing is published', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-6' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/6/#', { qos: 1 });
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-6',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('wd/6/will', 1),
    });
    const leftAt = Date.now();
    await leaving.endAsync();
    await waitPast(leftAt + 1000);
    await watcher.publishAsync('wd/6/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'wd/6/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['wd/6/marker'],
    );
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-7]: a held-back will survives a broker restart and is published when due', async () => {
    const broker = await openMqttBroker();
    const leaving = await connect5(broker.url(), {
      clientId: 'wd-7',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('wd/7/will', 3),
    });
    const droppedAt = Date.now();
    dropConnection(leaving);
    await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the dropped connection gone' });
    await broker.restart();
    const watcher = await connect5(broker.url(), { clientId: 'wd-watch-7' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('wd/7/#', { qos: 1 });
    await waitFor(() => seen.length === 1, { timeoutMs: 15_000, what: 'the will after the restart' });
    assert.ok(Date.now() >= droppedAt + 3000, 'not before the will delay');
    await watcher.endAsync();
    await broker.close();
  });
});

describe('MQTT 5 message expiry of retained messages', () => {
  test('5 [MQTT-3.3.2-6]: a retained message is sent with its remaining expiry interval', async () => {
    const broker = await openMqttBroker();
    const pub = await connect5(broker.url(), { clientId: 'rx-pub-1' });
    await pub.publishAsync('rx/1', 'soon stale', { qos: 1, retain: true, properties: { messageExpiryInterval: 60 } });
    const { client: sub, received } = await connectCollecting5(broker.url(), { clientId: 'rx-sub-1' });
    await sub.subscribeAsync('rx/1', { qos: 1 });
    await waitFor(() => received.length === 1, { what: 'the retained message' });
    const remaining = received[0]!.properties.messageExpiryInterval as number;
    assert.equal(received[0]!.retain, true);
    assert.ok(remaining > 0 && remaining <= 60, `remaining interval ${remaining} in 1..60`);
    await sub.endAsync();
    await pub.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.3.2-5]: an expired retained message is no longer sent to new subscribers (3.1.1 and 5), also after a restart', async () => {
    const broker = await openMqttBroker();
    const pub = await connect5(broker.url(), { clientId: 'rx-pub-2' });
    await pub.publishAsync('rx/2/short', 'gone', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    const storedAt = Date.now();
    await pub.publishAsync('rx/2/long', 'kept', { qos: 1, retain: true });
    await pub.endAsync();
    await broker.restart();
    await waitPast(storedAt + 1000);

    const { client: v5, received } = await connectCollecting5(broker.url(), { clientId: 'rx-sub-2' });
    await v5.subscribeAsync('rx/2/#', { qos: 1 });
    const v311 = await connect(broker.url(), { clientId: 'rx-sub-311' });
    const received311 = collect(v311);
    await v311.subscribeAsync('rx/2/#', { qos: 1 });
    await waitFor(() => received.length >= 1 && received311.length >= 1, { what: 'the unexpired retained message' });
    assert.deepEqual(
      received.map((m) => m.payload),
      ['kept'],
    );
    assert.deepEqual(
      received311.map((m) => m.payload),
      ['kept'],
    );
    await v5.endAsync();
    await v311.endAsync();
    await broker.close();
  });
});

describe('server keep alive', () => {
  test('5 [MQTT-3.2.2-21] server keep alive: by default a client asking for keep alive 0 is given 300 s; one asking for 60 s keeps it', async () => {
    const broker = await openMqttBroker();
    const none = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'ka-0', keepalive: 0 });
    assert.equal(none.connack.properties?.serverKeepAlive, 300);
    const sixty = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'ka-60', keepalive: 60 });
    assert.equal(sixty.connack.properties?.serverKeepAlive, undefined);
    none.client.close();
    sixty.client.close();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-22] (3.1.1 [MQTT-3.1.2-24]): a client silent for 1.5 × the server keep alive is disconnected and its will published', async () => {
    const broker = await openMqttBroker({ maxKeepAliveSec: 1 });
    const watcher = await connect5(broker.url(), { clientId: 'ka-watch' });
    const seen = collect5(watcher);
    await watcher.subscribeAsync('ka/#', { qos: 1 });
    const { client: silent, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'ka-silent',
      keepalive: 0,
      will: { topic: 'ka/will', payload: Buffer.from('gone'), qos: 0, retain: false },
    });
    assert.equal(connack.properties?.serverKeepAlive, 1);
    // The raw client never sends PINGREQ.
    await waitFor(() => silent.closed, { timeoutMs: 10_000, what: 'the silent client disconnected' });
    await waitFor(() => seen.length === 1, { what: 'its will' });
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-22]: a client that sends a packet within every keep alive stays connected past several of them, and is disconnected once silent', async () => {
    const broker = await openMqttBroker({ maxKeepAliveSec: 1 });
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'ka-busy', keepalive: 0 });
    // 1.5 s allowed between packets: a PINGREQ every 0.5 s for 4 s (well past 1.5 s from the CONNECT).
    const started = Date.now();
    while (Date.now() - started < 4000) {
      client.send({ cmd: 'pingreq' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(client.closed, false, `disconnected ${Date.now() - started} ms in, while sending every 0.5 s`);
    }
    await waitFor(() => client.closed, { timeoutMs: 10_000, what: 'the client disconnected once silent' });
    await broker.close();
  });
});
