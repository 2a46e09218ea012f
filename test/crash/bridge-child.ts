// The Sluice half of the bridge kill -9 test (bridge-crash.test.ts): opens the engine on the data
// dir it is given, starts an outbound MQTT bridge to the given upstream, optionally publishes
// `count` messages `p0…` on `crash/<n>`, and prints `ready` (and `published`). The parent
// SIGKILLs this process in the middle of the backlog.
//
// Usage: node --import tsx test/crash/bridge-child.ts <dataDir> <upstreamUrl> <count>
import { startBridges } from '../../core/bridges/index.ts';
import { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { testEngineOptions } from '../helpers/engine.ts';

/** Kept small and shared with the parent: at most this many messages can be repeated per kill. */
export const crashWindow = 32;

const [dir, url, countArg] = process.argv.slice(2);
if (dir === undefined || url === undefined || countArg === undefined) {
  console.error('usage: bridge-child.ts <dataDir> <upstreamUrl> <count>');
  process.exit(2);
}
const engine = await Engine.open(testEngineOptions(dir));
await startBridges(
  engine,
  [
    {
      name: 'crash',
      upstream: { protocol: 'mqtt', url, clientId: 'sluice-crash-bridge' },
      out: { topics: [{ filter: 'crash/#', localPrefix: 'crash/', remotePrefix: 'up/' }], window: crashWindow },
      // Slow enough that the parent can kill it in the middle of the backlog.
      rateLimit: { messagesPerSecond: 2000, burst: 50 },
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
    batch.push(engine.publish({ topic: `crash/${i % 7}`, payload: `p${i}` }));
  await Promise.all(batch);
}
if (count > 0) process.stdout.write('published\n');
