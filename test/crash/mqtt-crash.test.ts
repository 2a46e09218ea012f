import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { tempDir } from '../helpers/engine.ts';
import { freePort, kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const rounds = 12;
const publishers = 3;

async function startBroker(dir: string, port: number): Promise<ChildProcess> {
  const { child } = await startChildScript('test/crash/mqtt-child-broker.ts', [dir, String(port)], {
    what: 'child broker ready',
    timeoutMs: 15_000,
  });
  return child;
}

const connectOptions = { protocolVersion: 4 as const, reconnectPeriod: 0, connectTimeout: 5000 };

test('every PUBACKed QoS 1 message reaches the persistent subscriber across repeated kill -9; repeats carry DUP', async () => {
  const { dir, cleanup } = tempDir('sluice-mqtt-crash-');
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const acked = new Set<string>();
  const received = new Map<string, number>();
  const repeatsWithoutDup: string[] = [];
  const listen = (client: MqttClient): void => {
    client.on('message', (_topic, payload, packet) => {
      const key = payload.toString();
      const seen = received.get(key) ?? 0;
      if (seen > 0 && !packet.dup) repeatsWithoutDup.push(key);
      received.set(key, seen + 1);
    });
  };
  try {
    let broker = await startBroker(dir, port);
    const setup = await mqtt.connectAsync(url, { ...connectOptions, clientId: 'crash-sub', clean: false });
    await setup.subscribeAsync('crash/#', { qos: 1 });
    setup.end(true);
    for (let round = 0; round < rounds; round++) {
      if (round > 0) broker = await startBroker(dir, port);
      const clients: MqttClient[] = [];
      const sub = await mqtt.connectAsync(url, { ...connectOptions, clientId: 'crash-sub', clean: false });
      listen(sub);
      clients.push(sub);
      let running = true;
      const loops = Array.from({ length: publishers }, async (_, p) => {
        const pub = await mqtt.connectAsync(url, { ...connectOptions, clientId: `crash-pub-${p}` });
        clients.push(pub);
        pub.on('error', () => {});
        for (let seq = 0; running; seq++) {
          const payload = `r${round}-p${p}-${seq}`;
          try {
            await pub.publishAsync(`crash/${p}`, payload, { qos: 1 });
            acked.add(payload);
          } catch {
            return;
          }
        }
      });
      await waitFor(() => acked.size > round * 50 + 20, { what: 'some acks this round', timeoutMs: 10_000 });
      await new Promise((resolve) => setImmediate(resolve));
      await kill9(broker);
      running = false;
      for (const client of clients) client.end(true);
      await Promise.allSettled(loops);
    }
    broker = await startBroker(dir, port);
    const last = await mqtt.connectAsync(url, { ...connectOptions, clientId: 'crash-sub', clean: false });
    listen(last);
    await waitFor(() => [...acked].every((key) => received.has(key)), {
      what: `all ${acked.size} acked messages at the subscriber`,
      timeoutMs: 20_000,
    });
    assert.deepEqual(repeatsWithoutDup, [], 'a message arrived twice without DUP');
    last.end(true);
    await kill9(broker);
  } finally {
    cleanup();
  }
});
