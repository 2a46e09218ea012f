import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';
import { generate } from './mqtt-bytes.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';

// MQTT over WebSocket (MQTT 3.1.1 §6, MQTT 5 §6) with the `ws` client, so that the test decides
// the frames: binary only, and packets need not line up with frames (docs/mqtt-conformance.md).

/** Opens a WebSocket with subprotocol "mqtt" and records what comes back. */
async function openWs(url: string): Promise<{ ws: WebSocket; frames: Buffer[]; closed: () => boolean }> {
  const ws = new WebSocket(url, 'mqtt');
  const frames: Buffer[] = [];
  let closed = false;
  ws.on('message', (data: Buffer) => frames.push(data));
  ws.on('close', () => (closed = true));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(ws.protocol, 'mqtt', '[MQTT-6.0.0-4] the server selects "mqtt"');
  return { ws, frames, closed: () => closed };
}

describe('MQTT over WebSocket', () => {
  for (const version of [4, 5] as const) {
    const name = version === 4 ? '3.1.1' : '5';
    const connectPacket = (clientId: string) =>
      generate(
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId },
        version,
      );

    test(`${name} [MQTT-6.0.0-1]: a text frame closes the connection, even one holding a valid CONNECT`, async () => {
      const broker = await openMqttBroker();
      const { ws, frames, closed } = await openWs(broker.url('ws'));
      ws.send(connectPacket(`text-${version}`).toString('latin1'), { binary: false });
      await waitFor(closed, { what: 'the connection closed' });
      assert.deepEqual(frames, [], 'no CONNACK');
      assert.equal(broker.mqtt.stats().clients, 0);
      await broker.close();
    });

    test(`${name} [MQTT-6.0.0-2]: packets split across frames and several packets in one frame are read as one byte stream`, async () => {
      const broker = await openMqttBroker();
      const watcher = await connect(broker.url(), { clientId: `ws-watch-${version}` });
      const seen = collect(watcher);
      await watcher.subscribeAsync('wsplit/#', { qos: 1 });
      const { ws, frames } = await openWs(broker.url('ws'));
      const bytes = Buffer.concat([
        connectPacket(`split-${version}`),
        generate({ cmd: 'publish', topic: 'wsplit/a', payload: 'one', qos: 1, messageId: 1 }, version),
        generate({ cmd: 'publish', topic: 'wsplit/b', payload: 'two', qos: 1, messageId: 2 }, version),
      ]);
      // Frames of 3 bytes: every packet is cut, some frames hold the end of one and the start of the next.
      for (let i = 0; i < bytes.length; i += 3) ws.send(bytes.subarray(i, i + 3), { binary: true });
      await waitFor(() => seen.length === 2, { what: 'both messages' });
      assert.deepEqual(
        seen.map((m) => m.payload),
        ['one', 'two'],
      );
      const answers = Buffer.concat(frames);
      assert.equal(answers[0], 0x20, 'CONNACK');
      ws.close();
      await watcher.endAsync();
      await broker.close();
    });
  }
});
