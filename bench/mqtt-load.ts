// The MQTT load generator of bench/mqtt.ts, in a process of its own so that both brokers are
// measured with the very same clients and neither shares an event loop with them.
// MQTT.js 3.1.1 clean-session clients: `publishers` publish `total` 200-byte messages
// (`window` in flight each: QoS 1 waits for PUBACK, QoS 0 for the socket write) to one topic
// that `subscribers` subscribe to at the same QoS. A warm-up round of `warmup` messages goes
// first through the same clients (JIT, socket buffers) and is not measured. Every delivery is
// counted; latency is publish → delivery, both timed in this process.
//
// With `handshake`, the measured round is bracketed for the orchestrator's CPU accounting: this
// process prints `measure` and waits for a line on stdin before the first measured publish, and
// prints `measured` and waits again once the last delivery arrived.
//
//   node --import tsx bench/mqtt-load.ts '{"url":"mqtt://127.0.0.1:1883","qos":1,"publishers":1,"subscribers":1,"total":20000}'
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';

export interface LoadSpec {
  url: string;
  qos: 0 | 1;
  publishers: number;
  subscribers: number;
  /** Messages published in the measured round (each delivered to every subscriber). */
  total: number;
  warmup?: number;
  window?: number;
  payloadBytes?: number;
  /** Give up waiting this long after the last delivery. */
  quietMs?: number;
  username?: string;
  password?: string;
  /** Bracket the measured round with `measure` / `measured` lines, each answered on stdin. */
  handshake?: boolean;
}

export interface LoadResult {
  delivered: number;
  expected: number;
  seconds: number;
  msgPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const { url, qos, publishers, subscribers, total } = spec;
const warmup = spec.warmup ?? Math.min(5000, Math.max(500, Math.floor(total / 5)));
const window = spec.window ?? 100;
const payloadBytes = spec.payloadBytes ?? 200;
const quietMs = spec.quietMs ?? 3000;

const connect = (clientId: string): Promise<MqttClient> =>
  mqtt.connectAsync(url, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: 0,
    clean: true,
    ...(spec.username !== undefined && { username: spec.username, password: spec.password ?? '' }),
  });

const stdinLines = spec.handshake ? createInterface({ input: process.stdin })[Symbol.asyncIterator]() : undefined;
/** Tells the orchestrator where the measured round is, and waits until it took its reading. */
async function mark(what: 'measure' | 'measured'): Promise<void> {
  if (!stdinLines) return;
  process.stdout.write(`${what}\n`);
  await stdinLines.next();
}

const topic = `bench/${qos}/${publishers}/${subscribers}/${Math.random().toString(36).slice(2)}`;
const PHASE = 8;
const delivered = [0, 0];
let lastDeliveryAt = 0;
const latencies: number[] = [];

const subs = await Promise.all(Array.from({ length: subscribers }, (_, i) => connect(`bsub-${i}-${topic}`)));
for (const sub of subs) {
  await sub.subscribeAsync(topic, { qos });
  sub.on('message', (_t, payload) => {
    const now = performance.now();
    const phase = payload[PHASE]!;
    delivered[phase]!++;
    if (phase === 1) {
      lastDeliveryAt = now;
      latencies.push(now - payload.readDoubleLE(0));
    }
  });
}
const pubs = await Promise.all(Array.from({ length: publishers }, (_, i) => connect(`bpub-${i}-${topic}`)));

/** Publishes `count` messages spread over the publishers, `window` in flight each. */
async function publishAll(count: number, phase: 0 | 1): Promise<void> {
  await Promise.all(
    pubs.map(async (pub, p) => {
      const share = Math.floor(count / publishers) + (p < count % publishers ? 1 : 0);
      let sent = 0;
      const send = (): Promise<void> => {
        const payload = Buffer.alloc(payloadBytes);
        payload.writeDoubleLE(performance.now(), 0);
        payload[PHASE] = phase;
        return new Promise((resolve, reject) =>
          pub.publish(topic, payload, { qos }, (e) => (e ? reject(e) : resolve())),
        );
      };
      const lanes = Array.from({ length: window }, async () => {
        while (sent < share) {
          sent++;
          await send();
        }
      });
      await Promise.all(lanes);
    }),
  );
}

/** Waits until `expected` deliveries of `phase` arrived, or nothing arrived for `quietMs`. */
async function settle(phase: 0 | 1, expected: number): Promise<void> {
  let last = -1;
  let stillSince = performance.now();
  while (delivered[phase]! < expected) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (delivered[phase] !== last) {
      last = delivered[phase]!;
      stillSince = performance.now();
    } else if (performance.now() - stillSince > quietMs) break;
  }
}

await publishAll(warmup, 0);
await settle(0, warmup * subscribers);
await new Promise((resolve) => setTimeout(resolve, 200));

const expected = total * subscribers;
await mark('measure');
const started = performance.now();
await publishAll(total, 1);
await settle(1, expected);
await mark('measured');
const seconds = (lastDeliveryAt - started) / 1000;
await Promise.all([...subs, ...pubs].map((c) => c.endAsync()));

latencies.sort((a, b) => a - b);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
const result: LoadResult = {
  delivered: delivered[1]!,
  expected,
  seconds,
  msgPerSec: delivered[1]! / seconds,
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
