import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { waitFor } from '../helpers/wait.ts';
import { ByteSocket, field, frame, generate } from './mqtt-bytes.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';
import { RawClient5 } from './mqtt5-helpers.ts';

// CONNECT and CONNACK (MQTT 3.1.1 §3.1, §3.2; MQTT 5 §3.1, §3.2, §3.14.0): what the broker answers,
// in which order, and what it does not do after a refusal. "3.1.1" / "5" say which specification's
// numbering a test name uses (docs/mqtt-conformance.md).

/** Ends a connection the way a pulled cable does: no DISCONNECT. */
function dropConnection(client: MqttClient): void {
  client.on('error', () => {});
  client.stream.destroy();
}

/** A CONNECT (clean, keep alive 60 s) with any protocol name and level, as raw bytes. */
function connectWithName(name: string, level: 4 | 5, clientId: string): Buffer {
  const properties = level === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return frame(0x10, field(name), Buffer.from([level, 0x02, 0, 60]), properties, field(clientId));
}

describe('CONNECT refused or malformed', () => {
  test('3.1.1 [MQTT-3.1.2-1] [MQTT-3.1.4-1] [MQTT-3.2.2-6] and 5 [MQTT-3.1.2-1]: a CONNECT with another protocol name is closed without CONNACK', async () => {
    const broker = await openMqttBroker();
    for (const level of [4, 5] as const) {
      const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
      socket.write(connectWithName('MQTX', level, `name-${level}`));
      await socket.waitClosed(`the level ${level} connection closed`);
      assert.equal(socket.received.length, 0, 'not one byte back, no CONNACK');
    }
    assert.equal(broker.mqtt.stats().clients, 0);
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.2-2] and 5 [MQTT-3.1.2-2]: a CONNECT at a protocol level the broker does not speak gets CONNACK 0x01, then the connection closes', async () => {
    const broker = await openMqttBroker();
    for (const level of [2, 6, 0x86]) {
      const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
      const body = Buffer.concat([field('MQTT'), Buffer.from([level, 0x02, 0, 60]), field(`level-${level}`)]);
      socket.write(frame(0x10, body));
      await socket.waitClosed(`the level ${level} connection closed`);
      assert.deepEqual([...socket.received], [0x20, 0x02, 0x00, 0x01], 'CONNACK 0x01 unacceptable protocol version');
    }
    assert.equal(broker.mqtt.stats().clients, 0);
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.4-5] and 5 [MQTT-3.1.4-6] [MQTT-3.14.0-1]: after a refusing CONNACK nothing sent behind the CONNECT is processed, and no DISCONNECT comes', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'refused-watcher' });
    const seen = collect(watcher);
    await watcher.subscribeAsync('refused/#', { qos: 1 });
    const refusedConnects = [
      // 3.1.1: no client identifier with CleanSession 0 → CONNACK 0x02.
      { version: 4, connect: frame(0x10, field('MQTT'), Buffer.from([4, 0x00, 0, 60]), field('')) },
      // 5: enhanced authentication is not offered → CONNACK 0x8C.
      {
        version: 5,
        connect: generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 5,
            clean: true,
            keepalive: 60,
            clientId: 'refused-5',
            properties: { authenticationMethod: 'SCRAM-SHA-1' },
          },
          5,
        ),
      },
    ] as const;
    for (const { version, connect: connectBytes } of refusedConnects) {
      const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
      socket.write(
        Buffer.concat([
          connectBytes,
          generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'refused/#', qos: 1 }] }, version),
          generate({ cmd: 'publish', topic: `refused/${version}`, payload: 'x', qos: 1, messageId: 2 }, version),
          generate({ cmd: 'pingreq' }, version),
        ]),
      );
      await socket.waitClosed(`the refused level ${version} connection closed`);
      const bytes = socket.received;
      assert.equal(bytes[0], 0x20, 'a CONNACK');
      assert.equal(
        bytes.length,
        2 + bytes[1]!,
        'the CONNACK and nothing after it (no SUBACK, PUBACK, PINGRESP, DISCONNECT)',
      );
      assert.ok(version === 4 ? bytes[3] === 0x02 : bytes[3] === 0x8c, `refusal code 0x${bytes[3]!.toString(16)}`);
    }
    await watcher.publishAsync('refused/marker', 'm', { qos: 1 });
    await waitFor(() => seen.length > 0, { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['refused/marker'],
      'the PUBLISHes behind refused CONNECTs went nowhere',
    );
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.14.0-1]: a CONNECT larger than the broker accepts is closed without CONNACK or DISCONNECT', async () => {
    const broker = await openMqttBroker({ maxPacketBytes: 256 });
    const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
    socket.write(
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 5,
          clean: true,
          keepalive: 60,
          clientId: 'x'.repeat(400),
        },
        5,
      ),
    );
    await socket.waitClosed('the connection closed');
    assert.equal(socket.received.length, 0);
    await broker.close();
  });

  test('5 [MQTT-3.2.2-6]: a refused CONNECT says Session Present 0 even when the session exists', async () => {
    const broker = await openMqttBroker();
    const keep = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'kept-5',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    keep.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'kept/#', qos: 1 }] });
    await keep.client.next('suback');
    keep.client.send({ cmd: 'disconnect', reasonCode: 0 });
    await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the first connection gone' });
    const resumed = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'kept-5', clean: false });
    assert.equal(resumed.connack.sessionPresent, true, 'the session is there');
    resumed.client.close();
    await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the second connection gone' });
    const refused = await RawClient5.open(broker.mqtt.ports.tcp!, {
      clientId: 'kept-5',
      clean: false,
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    assert.equal(refused.connack.reasonCode, 0x8c);
    assert.equal(refused.connack.sessionPresent, false);
    await waitFor(() => refused.client.closed, { what: 'the refused connection closed' });
    await broker.close();
  });

  test('5 [MQTT-3.1.0-2]: a second CONNECT is a protocol error that closes the connection', async () => {
    const broker = await openMqttBroker();
    const { client } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'twice-5' });
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepalive: 60,
      clientId: 'twice-5',
    });
    await waitFor(() => client.closed, { what: 'the connection closed' });
    assert.equal(client.packets.filter((p) => p.cmd === 'connack').length, 0, 'no second CONNACK');
    await broker.close();
  });
});

describe('CONNACK', () => {
  test('3.1.1 [MQTT-3.2.0-1] and 5 [MQTT-3.2.0-1] [MQTT-3.2.0-2] [MQTT-3.2.2-1]: a resumed session with queued messages gets one CONNACK, first, with reserved bits 0', async () => {
    const broker = await openMqttBroker();
    const pub = await connect(broker.url(), { clientId: 'order-pub' });
    for (const version of [4, 5] as const) {
      const clientId = `order-${version}`;
      const first =
        version === 4
          ? (await RawClient.open(broker.mqtt.ports.tcp!, { clientId, clean: false })).client
          : (
              await RawClient5.open(broker.mqtt.ports.tcp!, {
                clientId,
                clean: false,
                properties: { sessionExpiryInterval: 600 },
              })
            ).client;
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `order${version}/#`, qos: 1 }] });
      await first.next('suback');
      first.close();
      await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'the subscriber gone' });
      for (let i = 0; i < 3; i++) await pub.publishAsync(`order${version}/${i}`, `m${i}`, { qos: 1 });
      // Read the raw bytes: the first packet must be CONNACK, with only the Session Present bit set.
      const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
      socket.write(
        generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: version,
            clean: false,
            keepalive: 60,
            clientId,
            ...(version === 5 && { properties: { sessionExpiryInterval: 600 } }),
          },
          version,
        ),
      );
      await waitFor(() => socket.received.length > 4 + 3 * 10, { what: 'CONNACK and the backlog' });
      const bytes = socket.received;
      assert.equal(bytes[0], 0x20, 'CONNACK first');
      assert.equal(bytes[2], 0x01, 'acknowledge flags: Session Present 1, reserved bits 0');
      const afterConnack = bytes.subarray(2 + bytes[1]!);
      assert.equal(afterConnack[0]! >> 4, 3, 'then PUBLISH');
      socket.close();
      await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'the resumed subscriber gone' });
      // One CONNACK only: a parsing client sees exactly one.
      const again =
        version === 4
          ? (await RawClient.open(broker.mqtt.ports.tcp!, { clientId, clean: false })).client
          : (await RawClient5.open(broker.mqtt.ports.tcp!, { clientId, clean: false })).client;
      await waitFor(() => again.publishes().length === 3, { what: 'the backlog, redelivered' });
      assert.equal(again.order[0], 'connack');
      assert.equal(again.order.filter((cmd) => cmd === 'connack').length, 1);
      again.close();
    }
    await pub.endAsync();
    await broker.close();
  });

  test("5 [MQTT-3.2.2-22]: without a Server Keep Alive the client's own keep alive is used: a silent client with keep alive 1 s is closed", async () => {
    const broker = await openMqttBroker();
    const { client, connack } = await RawClient5.open(broker.mqtt.ports.tcp!, { clientId: 'ka-1', keepalive: 1 });
    assert.equal(connack.properties?.serverKeepAlive, undefined, 'no Server Keep Alive: 1 s is within the limit');
    // 1.5 × 1 s without a packet: closed as if the network failed [MQTT-3.1.2-22].
    await waitFor(() => client.closed, { what: 'the silent client closed', timeoutMs: 10_000 });
    await broker.close();
  });
});

describe('wills', () => {
  test('3.1.1 [MQTT-3.1.2-12] and 5: a client without a will that drops publishes nothing', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'nowill-watcher' });
    const seen = collect(watcher);
    await watcher.subscribeAsync('#', { qos: 1 });
    for (const protocolVersion of [4, 5] as const) {
      const leaving = await connect(broker.url(), { clientId: `nowill-${protocolVersion}`, protocolVersion });
      dropConnection(leaving);
    }
    await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'both connections gone' });
    await watcher.publishAsync('marker', 'm', { qos: 1 });
    await waitFor(() => seen.length > 0, { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['marker'],
    );
    await watcher.endAsync();
    await broker.close();
  });

  test('3.1.1 [MQTT-3.1.2-10]: a will is published once, and a DISCONNECT removes it', async () => {
    const broker = await openMqttBroker();
    const watcher = await connect(broker.url(), { clientId: 'will-watcher' });
    const seen = collect(watcher);
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const will = { topic: 'will/dropped', payload: Buffer.from('gone'), qos: 1 as const, retain: false };
    const dropped = await connect(broker.url(), { clientId: 'will-311', clean: false, will });
    dropConnection(dropped);
    await waitFor(() => seen.length === 1, { what: 'the will' });
    // Same client id back without a will, then dropped again: the published will is not sent again.
    const back = await connect(broker.url(), { clientId: 'will-311', clean: false });
    dropConnection(back);
    const polite = await connect(broker.url(), {
      clientId: 'will-polite',
      will: { topic: 'will/polite', payload: Buffer.from('never'), qos: 1, retain: false },
    });
    await polite.endAsync(); // DISCONNECT: the will is discarded
    await waitFor(() => broker.mqtt.stats().clients === 1, { what: 'the others gone' });
    await watcher.publishAsync('will/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'will/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.map((m) => m.topic),
      ['will/dropped', 'will/marker'],
    );
    await watcher.endAsync();
    await broker.close();
  });

  test('5 [MQTT-3.1.2-14] [MQTT-3.1.2-15]: an MQTT 5 will is published retained only when Will Retain is 1', async () => {
    const broker = await openMqttBroker();
    for (const retain of [false, true]) {
      const leaving = await connect(broker.url(), {
        clientId: `will5-retain-${retain}`,
        protocolVersion: 5,
        will: { topic: `wr5/${retain}`, payload: Buffer.from(String(retain)), qos: 1, retain },
      });
      dropConnection(leaving);
      await waitFor(() => broker.mqtt.stats().clients === 0, { what: 'the connection gone' });
    }
    const sub = await connect(broker.url(), { clientId: 'wr5-sub', protocolVersion: 5 });
    const seen = collect(sub);
    await sub.subscribeAsync('wr5/#', { qos: 1 });
    await sub.publishAsync('wr5/marker', 'm', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === 'wr5/marker'), { what: 'the marker' });
    assert.deepEqual(
      seen.filter((m) => m.retain).map((m) => m.topic),
      ['wr5/true'],
    );
    await sub.endAsync();
    await broker.close();
  });
});
