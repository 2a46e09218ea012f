import assert from 'node:assert/strict';
import { connect as rawConnect } from 'node:net';
import { test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';

/** Deterministic PRNG so a failure replays (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const validConnect = Buffer.from('101000044d5154540402003c000466757a7a', 'hex');
const validPublish = Buffer.concat([
  Buffer.from([0x32, 12, 0, 3]),
  Buffer.from('f/z'),
  Buffer.from([0, 1]),
  Buffer.from('hello'),
]);

test('malformed, truncated and random frames never take the broker down; other clients keep being served', async () => {
  const broker = await openMqttBroker({ maxPacketBytes: 4096, connectTimeoutMs: 2000 });
  const bystander = await connect(broker.url(), { clientId: 'bystander' });
  const received = collect(bystander);
  await bystander.subscribeAsync('alive', { qos: 1 });
  const next = random(20_240_601);
  const frames: Buffer[] = [];
  for (let i = 0; i < 150; i++) {
    const kind = i % 5;
    const noise = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)));
    if (kind === 0) frames.push(noise);
    else if (kind === 1) frames.push(validConnect.subarray(0, Math.floor(next() * validConnect.length)));
    else if (kind === 2)
      frames.push(Buffer.concat([validConnect, validPublish.subarray(0, Math.floor(next() * validPublish.length))]));
    else if (kind === 3) frames.push(Buffer.concat([validConnect, noise]));
    else {
      const flipped = Buffer.concat([validConnect, validPublish]);
      const at = Math.floor(next() * flipped.length);
      flipped[at] = flipped[at]! ^ (1 << Math.floor(next() * 8));
      frames.push(flipped);
    }
  }
  // Ten at a time: each connection writes its frame, then closes; the broker must cope either way.
  for (let i = 0; i < frames.length; i += 10)
    await Promise.all(
      frames.slice(i, i + 10).map(
        (frame) =>
          new Promise<void>((resolve) => {
            const socket = rawConnect(broker.mqtt.ports.tcp!, '127.0.0.1', () => socket.end(frame));
            socket.on('error', () => {});
            socket.on('close', () => resolve());
            socket.resume();
          }),
      ),
    );
  await bystander.publishAsync('alive', 'still serving', { qos: 1 });
  await waitFor(() => received.length === 1, { what: 'bystander delivery after the fuzzing' });
  const late = await connect(broker.url(), { clientId: 'late' });
  await late.publishAsync('alive', 'new clients too', { qos: 1 });
  await waitFor(() => received.length === 2, { what: 'delivery from a new client' });
  assert.deepEqual(
    received.map((m) => m.payload),
    ['still serving', 'new clients too'],
  );
  await Promise.all([bystander.endAsync(), late.endAsync()]);
  await broker.close();
});
