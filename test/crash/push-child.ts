// The Sluice half of the push consumer kill -9 test (push-crash.test.ts): a whole broker on the
// data dir it is given, its queue `erp` pushed to the given endpoint with <concurrency> requests
// at once; optionally publishes `count` messages `p0…` first. Prints `ready` (and `published`).
// The parent SIGKILLs this process while deliveries are in flight.
//
// Usage: node --import tsx test/crash/push-child.ts <dataDir> <endpointUrl> <count> <concurrency>
import { createBroker } from '../../core/broker.ts';
import { loadConfig } from '../../core/config.ts';
import { silentLogger } from '../../core/log.ts';
import { testBrokerFlags } from '../helpers/broker.ts';

const [dir, url, countArg, concurrencyArg] = process.argv.slice(2);
if (dir === undefined || url === undefined || countArg === undefined || concurrencyArg === undefined) {
  console.error('usage: push-child.ts <dataDir> <endpointUrl> <count> <concurrency>');
  process.exit(2);
}
const config = loadConfig({
  env: {},
  flags: testBrokerFlags(dir, {
    mqtt: { enabled: false },
    amqp: { enabled: false },
    queues: [{ name: 'erp', subscriptions: ['crash/#'], maxRedelivery: 1000 }],
    push: [
      {
        name: 'crash',
        queue: 'erp',
        url,
        concurrency: Number(concurrencyArg),
        timeoutMs: 2000,
        retry: { initialDelayMs: 20, maxDelayMs: 100 },
      },
    ],
  }),
});
const broker = await createBroker(config, { logger: silentLogger() });
process.stdout.write('ready\n');
const count = Number(countArg);
for (let start = 0; start < count; start += 100) {
  const batch = [];
  for (let i = start; i < Math.min(count, start + 100); i++)
    batch.push(broker.engine.publish({ topic: `crash/${i % 5}`, payload: `p${i}` }));
  await Promise.all(batch);
}
if (count > 0) process.stdout.write('published\n');
