// What the message journey costs (docs/journey.md): throughput of QoS 1 messages published over
// MQTT through a queue to an MQTT consumer that acks, with journey recording on and off (trials
// alternate, medians reported), and the journey table's bytes per step and per message (dbstat).
//
//   node --import tsx bench/journey-cost.ts [messages=20000] [trials=3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createBroker } from '../core/broker.ts';
import { loadConfig } from '../core/config.ts';
import { Engine } from '../core/engine/engine.ts';
import { silentLogger } from '../core/log.ts';

const messages = Number(process.argv[2] ?? 20_000);
const trials = Number(process.argv[3] ?? 3);
const inFlight = 200;
const payload = Buffer.alloc(200, 0x61);

interface Run {
  perSec: number;
  /** Process CPU (user + system) per message, µs: steadier than wall time on a shared machine. */
  cpuUsPerMessage: number;
  storage?: Record<string, number>;
}

/** Through the engine alone: 64 concurrent publishers, one consumer acking each delivery. */
async function runEngine(journey: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journey-bench-'));
  const engine = await Engine.open({
    databaseFile: join(dir, 'sluice.db'),
    maxMessageBytes: 1024 * 1024,
    retention: { maxAgeMs: null, maxLogBytes: 1e12, intervalMs: 3_600_000 },
    expiryIntervalMs: 3_600_000,
    logger: silentLogger(),
    journey,
  });
  try {
    await engine.createQueue('work', { subscriptions: ['work'], maxDepthMessages: messages * 2 });
    const consumer = engine.consume('work', {
      flow: { mode: 'prefetch', prefetch: 1000 },
      onDelivery: (d) => void consumer.ack(d.deliveryId),
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < messages) {
        next++;
        await engine.publish({ topic: 'work', payload, publisher: 'bench', protocol: 'api' });
      }
    };
    await Promise.all(Array.from({ length: 64 }, lane));
    while (engine.getQueue('work').counters.acked < messages) await new Promise((resolve) => setTimeout(resolve, 2));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return { perSec: messages / seconds, cpuUsPerMessage: (used.user + used.system) / messages };
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(journey: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journey-bench-'));
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: dir,
      journey,
      security: { anonymous: true },
      http: { port: 0 },
      mqtt: { tcp: { port: 0 }, ws: { port: 0 } },
      amqp: { port: 0 },
      retention: { maxAgeMs: null, intervalMs: 3_600_000 },
    },
  });
  const broker = await createBroker(config, { logger: silentLogger() });
  try {
    await broker.engine.createQueue('work', { subscriptions: ['plant/+/work'], maxDepthMessages: messages * 2 });
    const url = broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!;
    const consumer = await mqtt.connectAsync(url, { clientId: 'bench-consumer', clean: true });
    let received = 0;
    const done = new Promise<void>((resolve) =>
      consumer.on('message', () => {
        if (++received === messages) resolve();
      }),
    );
    await consumer.subscribeAsync('$queue/work', { qos: 1 });
    const publisher = await mqtt.connectAsync(url, { clientId: 'bench-publisher' });
    const cpu = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < messages) {
        next++;
        await publisher.publishAsync('plant/line1/work', payload, { qos: 1 });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    await done;
    const queue = () => broker.engine.getQueue('work');
    while (queue().counters.acked < messages) await new Promise((resolve) => setTimeout(resolve, 5));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await publisher.endAsync();
    await consumer.endAsync();
    let storage: Record<string, number> | undefined;
    if (journey) {
      const db = broker.engine.store.database;
      const stat = (name: string) =>
        db
          .prepare(
            'SELECT coalesce(sum(pgsize), 0) AS bytes, coalesce(sum(payload), 0) AS payload FROM dbstat WHERE name = ?',
          )
          .get(name) as {
          bytes: number;
          payload: number;
        };
      const rows = (db.prepare('SELECT count(*) AS n FROM journey_events').get() as { n: number }).n;
      const journeyBytes = stat('journey_events');
      const log = stat('messages');
      storage = {
        steps: rows,
        stepsPerMessage: rows / messages,
        journeyPageBytes: journeyBytes.bytes,
        bytesPerStep: journeyBytes.bytes / rows,
        recordBytesPerStep: journeyBytes.payload / rows,
        bytesPerMessage: journeyBytes.bytes / messages,
        logBytesPerMessage: log.bytes / messages,
      };
    }
    return {
      perSec: messages / seconds,
      cpuUsPerMessage: (used.user + used.system) / messages,
      ...(storage && { storage }),
    };
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Alternating on/off trials of one setup; medians of throughput and CPU per message. */
async function compare(name: string, once: (journey: boolean) => Promise<Run>) {
  const on: Run[] = [];
  const off: Run[] = [];
  await once(true); // warm-up: JIT, page cache
  for (let i = 0; i < trials; i++) {
    const first = i % 2 === 0;
    const a = await once(first);
    const b = await once(!first);
    const [withJourney, without] = first ? [a, b] : [b, a];
    on.push(withJourney);
    off.push(without);
    console.log(
      `${name} trial ${i + 1}: on ${withJourney.perSec.toFixed(0)} msg/s ${withJourney.cpuUsPerMessage.toFixed(1)} µs CPU/msg; ` +
        `off ${without.perSec.toFixed(0)} msg/s ${without.cpuUsPerMessage.toFixed(1)} µs CPU/msg`,
    );
  }
  const rate = (xs: Run[]) => median(xs.map((r) => r.perSec));
  const cpu = (xs: Run[]) => median(xs.map((r) => r.cpuUsPerMessage));
  return {
    onPerSec: Math.round(rate(on)),
    offPerSec: Math.round(rate(off)),
    throughputCostPct: Number(((1 - rate(on) / rate(off)) * 100).toFixed(1)),
    onCpuUsPerMessage: Number(cpu(on).toFixed(1)),
    offCpuUsPerMessage: Number(cpu(off).toFixed(1)),
    cpuCostPct: Number(((cpu(on) / cpu(off) - 1) * 100).toFixed(1)),
    storage: on.find((r) => r.storage)?.storage,
  };
}

const engineResult = await compare('engine', runEngine);
const mqttResult = await compare('mqtt', run);
console.log(JSON.stringify({ messages, trials, engine: engineResult, mqtt: mqttResult }, null, 2));
