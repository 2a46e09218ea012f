import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { tempDir } from '../helpers/engine.ts';
import { freePort, kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

// MQTT 5 session state of clients that were connected when the broker was killed (kill -9): their
// sessions expire by their Session Expiry Interval counted from the restart, and a will with a will
// delay is held from the restart (issue 19). The broker is a child process on one data directory.

async function startBroker(dir: string, port: number): Promise<ChildProcess> {
  const { child } = await startChildScript('test/crash/mqtt-child-broker.ts', [dir, String(port)], {
    what: 'child broker ready',
    timeoutMs: 15_000,
  });
  return child;
}

function connect5(url: string, options: IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** Waits until the wall clock is past `deadline` (the test is about time passing). */
async function waitPast(deadline: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()) + 100));
}

test('5 [MQTT-3.1.2-23] [MQTT-4.1.0-2]: sessions connected at a kill -9 expire by their interval from the restart; a longer one is resumed', async () => {
  const { dir, cleanup } = tempDir('sluice-mqtt5-crash-');
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  let broker = await startBroker(dir, port);
  try {
    const short = await connect5(url, {
      clientId: 'crash-short',
      clean: false,
      properties: { sessionExpiryInterval: 2 },
    });
    await short.subscribeAsync('crash5/short', { qos: 1 });
    const long = await connect5(url, {
      clientId: 'crash-long',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await long.subscribeAsync('crash5/long', { qos: 1 });
    for (const client of [short, long]) client.on('error', () => {});
    await kill9(broker);
    short.end(true);
    long.end(true);

    broker = await startBroker(dir, port);
    const restartedAt = Date.now();
    await waitPast(restartedAt + 2000);
    for (const [clientId, present] of [
      ['crash-short', false],
      ['crash-long', true],
    ] as const) {
      const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, clientId, clean: false });
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      assert.equal(connack.sessionPresent, present, `${clientId}: session present ${present}`);
      client.end(true);
    }
  } finally {
    await kill9(broker);
    cleanup();
  }
});

test('5 [MQTT-3.1.2-8]: the will of a client connected at a kill -9 is held for its will delay from the restart, then published', async () => {
  const { dir, cleanup } = tempDir('sluice-mqtt5-crash-');
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  let broker = await startBroker(dir, port);
  try {
    const leaving = await connect5(url, {
      clientId: 'crash-will',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
      will: {
        topic: 'crash5/will',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 3 },
      },
    });
    leaving.on('error', () => {});
    await kill9(broker);
    leaving.end(true);

    // The broker counts the delay from its own start, which comes before it reports ready: the
    // earliest the will may be seen is 3 s after the restart began, not after startBroker returned.
    const restartedAt = Date.now();
    broker = await startBroker(dir, port);
    const watcher = await connect5(url, { clientId: 'crash-watch' });
    const seen: string[] = [];
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('crash5/#', { qos: 1 });
    await waitFor(() => seen.length === 1, { timeoutMs: 15_000, what: 'the will after its delay' });
    assert.ok(Date.now() >= restartedAt + 3000, 'held for the will delay from the restart');
    assert.deepEqual(seen, ['crash5/will']);
    watcher.end(true);
  } finally {
    await kill9(broker);
    cleanup();
  }
});
