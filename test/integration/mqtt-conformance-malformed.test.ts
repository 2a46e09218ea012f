import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { ByteSocket, field, frame } from './mqtt-bytes.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { RawClient } from './mqtt-raw.ts';

// Malformed packets, each sent exactly (not only by the random-frame fuzz test): reserved flag
// bits, QoS 3 and reserved subscription option bits, reserved CONNECT flags. Each closes the
// connection; nothing else is answered (MQTT 5 may be told why with DISCONNECT ≥ 0x80 first
// [MQTT-4.13.1-1]), and the broker goes on serving others (docs/mqtt-conformance.md).

/** The packets, after a valid CONNECT; `props` is the empty MQTT 5 property block where one belongs. */
function malformedPackets(version: 4 | 5): Array<{ what: string; ids: string; bytes: Buffer }> {
  const props = version === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  const subscribe = (options: number, flags = 0x82) =>
    frame(flags, Buffer.from([0, 1]), props, field('m/#'), Buffer.from([options]));
  const v = (v311: string, v5: string) => (version === 4 ? v311 : v5);
  const list = [
    { what: 'PINGREQ with flags 0001', ids: v('[MQTT-2.2.2-2]', '[MQTT-2.1.3-1]'), bytes: Buffer.from([0xc1, 0]) },
    { what: 'PUBREL with flags 0000', ids: v('[MQTT-3.6.1-1]', '[MQTT-3.6.1-1]'), bytes: Buffer.from([0x60, 2, 0, 1]) },
    { what: 'SUBSCRIBE with flags 0000', ids: v('[MQTT-3.8.1-1]', '[MQTT-3.8.1-1]'), bytes: subscribe(1, 0x80) },
    {
      what: 'UNSUBSCRIBE with flags 0000',
      ids: v('[MQTT-3.10.1-1]', '[MQTT-3.10.1-1]'),
      bytes: frame(0xa0, Buffer.from([0, 2]), props, field('m/#')),
    },
    { what: 'DISCONNECT with flags 0001', ids: v('[MQTT-3.14.1-1]', '[MQTT-3.14.1-1]'), bytes: Buffer.from([0xe1, 0]) },
    { what: 'SUBSCRIBE at QoS 3', ids: v('[MQTT-3.8.3-4]', '[MQTT-3.8.3-5]'), bytes: subscribe(3) },
    {
      what: 'SUBSCRIBE with a reserved option bit',
      ids: v('[MQTT-3.8.3-4]', '[MQTT-3.8.3-5]'),
      bytes: subscribe(version === 4 ? 0x05 : 0x41),
    },
  ];
  if (version === 5)
    list.push({ what: 'SUBSCRIBE with Retain Handling 3', ids: '[MQTT-3.8.3-5]', bytes: subscribe(0x31) });
  return list;
}

describe('malformed packets close the connection', () => {
  for (const version of [4, 5] as const) {
    const ids = [...new Set(malformedPackets(version).map((p) => p.ids))].join(' ');
    const closing = version === 4 ? '3.1.1' : '5';
    const violation = version === 4 ? '[MQTT-4.8.0-1]' : '[MQTT-4.13.1-1]';
    test(`${closing} ${ids} ${violation}: reserved flag bits, QoS 3 and reserved subscription options close the connection and nothing else is answered`, async () => {
      const broker = await openMqttBroker();
      const watcher = await connect(broker.url(), { clientId: `malformed-watch-${version}` });
      const seen = collect(watcher);
      await watcher.subscribeAsync('m/#', { qos: 1 });
      for (const { what, bytes } of malformedPackets(version)) {
        const { client } = await RawClient.open(broker.mqtt.ports.tcp!, {
          clientId: `malformed-${version}`,
          clean: true,
          protocolVersion: version,
        });
        client.write(bytes);
        await waitFor(() => client.closed, { what: `the connection closed after a ${what}` });
        const answers = client.packets.map((p) => ({
          cmd: p.cmd,
          code: (p as { reasonCode?: number }).reasonCode ?? 0,
        }));
        assert.ok(
          answers.length === 0 ||
            (version === 5 && answers.length === 1 && answers[0]!.cmd === 'disconnect' && answers[0]!.code >= 0x80),
          `${what}: answered ${JSON.stringify(answers)}`,
        );
      }
      // The broker still serves: the watcher's own publish comes back, and nothing else came.
      await watcher.publishAsync('m/marker', 'm', { qos: 1 });
      await waitFor(() => seen.length > 0, { what: 'the marker' });
      assert.deepEqual(
        seen.map((m) => m.topic),
        ['m/marker'],
      );
      await watcher.endAsync();
      await broker.close();
    });
  }

  test('3.1.1 [MQTT-3.1.2-3] [MQTT-3.1.4-1] and 5 [MQTT-3.1.2-3] [MQTT-3.1.4-1]: a CONNECT with the reserved flag set, or a will QoS without a will, is closed without CONNACK', async () => {
    const broker = await openMqttBroker();
    for (const version of [4, 5] as const) {
      const props = version === 5 ? Buffer.from([0]) : Buffer.alloc(0);
      for (const flags of [0x03, 0x0a]) {
        const socket = await ByteSocket.open(broker.mqtt.ports.tcp!);
        socket.write(frame(0x10, field('MQTT'), Buffer.from([version, flags, 0, 60]), props, field(`flags-${flags}`)));
        await socket.waitClosed(`the level ${version} connection with flags 0x${flags.toString(16)} closed`);
        assert.equal(socket.received.length, 0, 'no CONNACK');
      }
    }
    await broker.close();
  });
});
