import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { field, frame, publishBytes, subscribeBytes, unsubscribeBytes } from './mqtt-bytes.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';

// UTF-8 strings and topic names (MQTT 3.1.1 §1.5.3, §4.7.3; MQTT 5 §1.5.4, §1.5.7, §4.7.3), sent
// byte by byte on a raw socket: a string that is not well-formed UTF-8 or holds U+0000 is a
// malformed packet, so the connection closes and nothing of it is acted on. "3.1.1" / "5" say which
// specification's numbering a test name uses (docs/mqtt-conformance.md).

/** "a/" + an encoded UTF-16 surrogate (U+D800, never valid in UTF-8) + "b". */
const surrogateTopic = Buffer.from([0x61, 0x2f, 0xed, 0xa0, 0x80, 0x62]);
/** "a/" + U+0000 + "b". */
const nulTopic = Buffer.from([0x61, 0x2f, 0x00, 0x62]);

const versions = [
  { version: 4, name: '3.1.1' },
  { version: 5, name: '5' },
] as const;

async function openBroker() {
  const broker = await openMqttBroker();
  const watcher = await connect(broker.url(), { clientId: 'watcher' });
  const seen = collect(watcher);
  await watcher.subscribeAsync(['#', 'a/#'], { qos: 1 });
  return {
    broker,
    seen,
    port: broker.mqtt.ports.tcp!,
    /** A marker published after the bad packet: once it arrives, nothing else may have. */
    async onlyMarkerSeen(): Promise<void> {
      await watcher.publishAsync('marker', 'm', { qos: 1 });
      await waitFor(() => seen.some((m) => m.topic === 'marker'), { what: 'the marker' });
      assert.deepEqual(
        seen.map((m) => m.topic),
        ['marker'],
        'the malformed packet delivered nothing',
      );
    },
    async close() {
      await watcher.endAsync();
      await broker.close();
    },
  };
}

describe('ill-formed UTF-8 and U+0000 close the connection', () => {
  for (const { version, name } of versions) {
    const ids =
      version === 4
        ? '3.1.1 [MQTT-1.5.3-1] [MQTT-1.5.3-2] [MQTT-3.3.2-1] [MQTT-4.7.3-2]'
        : '5 [MQTT-1.5.4-1] [MQTT-1.5.4-2] [MQTT-3.3.2-1] [MQTT-4.7.3-2]';
    test(`${ids}: a PUBLISH topic with a UTF-16 surrogate or U+0000 closes the connection, unacknowledged and undelivered`, async () => {
      const test = await openBroker();
      for (const topic of [surrogateTopic, nulTopic]) {
        const { client } = await RawClient.open(test.port, {
          clientId: `bad-topic-${name}`,
          clean: true,
          protocolVersion: version,
        });
        client.write(publishBytes(topic, 'bad', version));
        await waitFor(() => client.closed, { what: `the ${name} connection closed` });
        assert.equal(client.packets.filter((p) => p.cmd === 'puback').length, 0, 'no PUBACK');
      }
      await test.onlyMarkerSeen();
      await test.close();
    });

    const filterIds = version === 4 ? '3.1.1 [MQTT-3.8.3-1] [MQTT-3.10.3-1]' : '5 [MQTT-3.8.3-1] [MQTT-3.10.3-1]';
    test(`${filterIds}: a SUBSCRIBE or UNSUBSCRIBE filter that is not UTF-8 closes the connection without SUBACK / UNSUBACK`, async () => {
      const test = await openBroker();
      for (const [what, bytes] of [
        ['SUBSCRIBE', subscribeBytes(surrogateTopic, version)],
        ['SUBSCRIBE', subscribeBytes(nulTopic, version)],
        ['UNSUBSCRIBE', unsubscribeBytes(surrogateTopic, version)],
        ['UNSUBSCRIBE', unsubscribeBytes(nulTopic, version)],
      ] as const) {
        const { client } = await RawClient.open(test.port, {
          clientId: `bad-filter-${name}`,
          clean: true,
          protocolVersion: version,
        });
        client.write(bytes);
        await waitFor(() => client.closed, { what: `the ${name} connection closed on a ${what}` });
        assert.deepEqual(
          client.packets.map((p) => p.cmd),
          [],
          `nothing answers the ${what}`,
        );
      }
      await test.close();
    });
  }

  test('5 [MQTT-1.5.7-1]: a user property whose name or value is not UTF-8 closes the connection, unacknowledged and undelivered', async () => {
    const test = await openBroker();
    for (const [key, value] of [
      [surrogateTopic, Buffer.from('v')],
      [Buffer.from('k'), nulTopic],
    ]) {
      const { client } = await RawClient.open(test.port, { clientId: 'bad-pair', clean: true, protocolVersion: 5 });
      const properties = Buffer.concat([Buffer.from([0x26]), field(key!), field(value!)]);
      client.write(
        frame(0x32, field('a/pair'), Buffer.from([0, 1, properties.length]), properties, Buffer.from('bad')),
      );
      await waitFor(() => client.closed, { what: 'the connection closed' });
      assert.equal(client.packets.filter((p) => p.cmd === 'puback').length, 0, 'no PUBACK');
    }
    await test.onlyMarkerSeen();
    await test.close();
  });
});

describe('topic names are kept and matched byte for byte', () => {
  for (const { version, name } of versions) {
    const ids = version === 4 ? '3.1.1 [MQTT-1.5.3-3] [MQTT-4.7.3-4]' : '5 [MQTT-1.5.4-3] [MQTT-4.7.3-4]';
    test(`${ids}: a leading U+FEFF is part of the topic, and topics differing only by case, Unicode form or a trailing slash are different`, async () => {
      const broker = await openMqttBroker();
      const bom = '\u{feff}bom/a';
      const filters = [bom, 'bom/a', 'Case/a', 'case/a', 'caf\u00e9', 'cafe\u0301', 'slash', 'slash/'];
      const byFilter = new Map<string, string[]>();
      const { client: sub } = await RawClient.open(broker.mqtt.ports.tcp!, {
        clientId: `bytes-${name}`,
        clean: true,
        protocolVersion: version,
      });
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 0 })) });
      assert.deepEqual(
        (await sub.next('suback')).granted,
        filters.map(() => 0),
      );
      const pub = await connect(broker.url(), { clientId: `bytes-pub-${name}`, protocolVersion: version });
      for (const topic of filters) await pub.publishAsync(topic, topic, { qos: 1 });
      await waitFor(() => sub.publishes().length === filters.length, { what: 'one message per topic' });
      for (const packet of sub.publishes()) {
        const list = byFilter.get(packet.topic!) ?? [];
        list.push(packet.payload!.toString());
        byFilter.set(packet.topic!, list);
      }
      // Each topic reached the subscriber once, under exactly the bytes it was published with.
      for (const topic of filters) assert.deepEqual(byFilter.get(topic), [topic], `topic ${JSON.stringify(topic)}`);
      sub.close();
      await pub.endAsync();
      await broker.close();
    });

    const emptyIds = version === 4 ? '3.1.1 [MQTT-4.7.3-1]' : '5 [MQTT-4.7.3-1]';
    test(`${emptyIds}: an empty topic name in PUBLISH (no topic alias) closes the connection, and so does an empty topic filter`, async () => {
      const test = await openBroker();
      for (const bytes of [publishBytes(Buffer.alloc(0), 'empty', version), subscribeBytes(Buffer.alloc(0), version)]) {
        const { client } = await RawClient.open(test.port, {
          clientId: `empty-${name}`,
          clean: true,
          protocolVersion: version,
        });
        client.write(bytes);
        await waitFor(() => client.closed, { what: `the ${name} connection closed` });
        assert.equal(client.packets.filter((p) => p.cmd === 'puback' || p.cmd === 'suback').length, 0);
      }
      await test.onlyMarkerSeen();
      await test.close();
    });
  }
});
