// The Sluice half of the Kafka bridge kill -9 tests (bridge-kafka-crash.test.ts): opens the
// engine on the data dir it is given and starts a Kafka bridge to the given bootstrap broker.
// `out`: forwards `plant/#` to Kafka topic `plant.workorders` (key: the line level) and publishes
// `count` messages `w0…` first. `in`: reads Kafka topic `mes.commands` into queue `from-kafka`.
// Prints `ready`, then `published` (out), then the bridge's counters every 50 ms. The parent
// SIGKILLs it in the middle of the stream.
//
// Usage: node --import tsx test/crash/bridge-kafka-child.ts <dataDir> <bootstrap> <out|in> <count>
import { startBridges } from '../../core/bridges/index.ts';
import { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { testEngineOptions } from '../helpers/engine.ts';

/** Messages in flight (out) or published ahead of their Kafka commit (in): at most this many repeat per kill. */
export const kafkaCrashWindow = 32;

const [dir, bootstrap, mode, countArg] = process.argv.slice(2);
if (dir === undefined || bootstrap === undefined || (mode !== 'out' && mode !== 'in') || countArg === undefined) {
  console.error('usage: bridge-kafka-child.ts <dataDir> <bootstrap> <out|in> <count>');
  process.exit(2);
}
const engine = await Engine.open(testEngineOptions(dir));
if (mode === 'in') await engine.ensureQueue('from-kafka', { subscriptions: ['kafka/#'] });
const bridges = await startBridges(
  engine,
  [
    mode === 'out'
      ? {
          name: 'crash-out',
          upstream: {
            protocol: 'kafka',
            brokers: [bootstrap],
            topics: [{ filter: 'plant/#', kafkaTopic: 'plant.workorders', key: { from: 'level', level: 2 } }],
          },
          out: { topics: [{ filter: 'plant/#' }], window: kafkaCrashWindow },
          // Slow enough that the parent can kill it in the middle of the backlog, twice.
          rateLimit: { messagesPerSecond: 300, burst: 50 },
          reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
        }
      : {
          name: 'crash-in',
          direction: 'in',
          upstream: { protocol: 'kafka', brokers: [bootstrap], consumeTopics: ['mes.commands'] },
          in: { window: kafkaCrashWindow },
          rateLimit: { messagesPerSecond: 1000, burst: 50 },
          reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
        },
  ],
  silentLogger(),
  { dataDir: dir },
);
process.stdout.write('ready\n');
const count = Number(countArg);
for (let start = 0; start < count; start += 200) {
  const batch = [];
  for (let i = start; i < Math.min(count, start + 200); i++)
    batch.push(engine.publish({ topic: `plant/line${i % 5}/workorder`, payload: `w${i}` }));
  await Promise.all(batch);
}
if (count > 0) process.stdout.write('published\n');
setInterval(() => {
  const status = bridges.statuses()[0]!;
  process.stdout.write(`status ${status.forwarded} ${status.received} ${status.backlog}\n`);
}, 50);
