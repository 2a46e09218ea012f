// MQTT throughput and latency: Sluice (aedes on the engine, durable, group commit) against
// Debian's Mosquitto (no persistence, max_queued_messages 0 so it drops nothing) in the same run.
// 200-byte payloads; scenarios 1→1, 16→1, 1→16 at QoS 0 and QoS 1; deliveries are counted.
//
//   npm run bench:mqtt            (MESSAGES=20000 by default; set MESSAGES to change)
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Engine } from '../core/engine/engine.ts';
import { silentLogger } from '../core/log.ts';
import { startMqtt } from '../core/protocols/mqtt/index.ts';
import { tempDir, testEngineOptions } from '../test/helpers/engine.ts';

const messages = Number(process.env.MESSAGES ?? 20_000);
const payloadBytes = 200;
const windowPerPublisher = 100;

interface Result {
  delivered: number;
  expected: number;
  msgPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const connect = (url: string, clientId: string): Promise<MqttClient> =>
  mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, clean: true });

async function scenario(url: string, qos: 0 | 1, publishers: number, subscribers: number): Promise<Result> {
  const total = subscribers === 1 ? messages : Math.max(1000, Math.floor(messages / subscribers));
  const expected = total * subscribers;
  const latencies: number[] = [];
  let delivered = 0;
  const topic = `bench/${qos}/${publishers}/${subscribers}/${Math.random().toString(36).slice(2)}`;
  const subs = await Promise.all(Array.from({ length: subscribers }, (_, i) => connect(url, `bsub-${i}-${topic}`)));
  for (const sub of subs) {
    await sub.subscribeAsync(topic, { qos });
    sub.on('message', (_t, payload) => {
      delivered++;
      latencies.push(performance.now() - payload.readDoubleLE(0));
    });
  }
  const pubs = await Promise.all(Array.from({ length: publishers }, (_, i) => connect(url, `bpub-${i}-${topic}`)));
  const started = performance.now();
  await Promise.all(
    pubs.map(async (pub, p) => {
      const share = Math.floor(total / publishers) + (p < total % publishers ? 1 : 0);
      let sent = 0;
      const send = (): Promise<void> => {
        const payload = Buffer.alloc(payloadBytes);
        payload.writeDoubleLE(performance.now(), 0);
        return new Promise((resolve, reject) =>
          pub.publish(topic, payload, { qos }, (e) => (e ? reject(e) : resolve())),
        );
      };
      const lanes = Array.from({ length: windowPerPublisher }, async () => {
        while (sent < share) {
          sent++;
          await send();
        }
      });
      await Promise.all(lanes);
    }),
  );
  const deadline = performance.now() + 30_000;
  let last = -1;
  let stillSince = performance.now();
  while (delivered < expected && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (delivered !== last) {
      last = delivered;
      stillSince = performance.now();
    } else if (performance.now() - stillSince > 3000) break;
  }
  const seconds = (performance.now() - started - (delivered < expected ? 3 : 0)) / 1000;
  await Promise.all([...subs, ...pubs].map((c) => c.endAsync()));
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { delivered, expected, msgPerSec: delivered / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

async function withSluice<T>(run: (url: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir('sluice-bench-mqtt-');
  const engine = await Engine.open(testEngineOptions(dir));
  const listener = await startMqtt(engine, { tcp: { port: 0 }, ws: { enabled: false } }, silentLogger());
  try {
    return await run(`mqtt://127.0.0.1:${listener.ports.tcp}`);
  } finally {
    await listener.close();
    await engine.close();
    cleanup();
  }
}

async function withMosquitto<T>(run: (url: string) => Promise<T>): Promise<T> {
  const { dir, cleanup } = tempDir('sluice-bench-mosquitto-');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      try {
        (await connect(`mqtt://127.0.0.1:${port}`, 'probe')).end(true);
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return await run(`mqtt://127.0.0.1:${port}`);
  } finally {
    child.kill('SIGTERM');
    cleanup();
  }
}

const shapes: Array<[number, number]> = [
  [1, 1],
  [16, 1],
  [1, 16],
];
const rows: string[] = [];
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
console.log(
  `MQTT benchmark: ${messages} × ${payloadBytes} B per scenario, ${windowPerPublisher} in flight per publisher`,
);
rows.push(
  '| QoS | shape | Sluice msg/s | Mosquitto msg/s | ratio | Sluice p50 / p99 ms | Mosquitto p50 / p99 ms | delivered (Sluice / Mosquitto / expected) |',
);
rows.push('|---|---|---|---|---|---|---|---|');
for (const qos of [0, 1] as const)
  for (const [publishers, subscribers] of shapes) {
    const sluice = await withSluice((url) => scenario(url, qos, publishers, subscribers));
    const mosquitto = await withMosquitto((url) => scenario(url, qos, publishers, subscribers));
    rows.push(
      `| ${qos} | ${publishers}→${subscribers} | ${fmt(sluice.msgPerSec)} | ${fmt(mosquitto.msgPerSec)} | ` +
        `${fmt(sluice.msgPerSec / mosquitto.msgPerSec, 2)} | ${fmt(sluice.p50Ms, 1)} / ${fmt(sluice.p99Ms, 1)} | ` +
        `${fmt(mosquitto.p50Ms, 1)} / ${fmt(mosquitto.p99Ms, 1)} | ${sluice.delivered} / ${mosquitto.delivered} / ${sluice.expected} |`,
    );
    console.log(rows[rows.length - 1]);
  }
console.log(`\n${rows.join('\n')}`);
