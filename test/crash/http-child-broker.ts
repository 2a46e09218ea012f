// The broker half of the HTTP kill -9 test (http-crash.test.ts): a whole broker, as `sluice serve`
// runs it, on the data dir it is given, with its HTTP API on the given port and the crash queue
// declared; prints `ready`. The parent publishes over HTTP and SIGKILLs this process.
//
// Usage: node --import tsx test/crash/http-child-broker.ts <dataDir> <httpPort>
import { createBroker } from '../../core/broker.ts';
import { loadConfig } from '../../core/config.ts';
import { silentLogger } from '../../core/log.ts';
import { testBrokerFlags } from '../helpers/broker.ts';

const [dir, portArg] = process.argv.slice(2);
if (dir === undefined || portArg === undefined) {
  console.error('usage: http-child-broker.ts <dataDir> <httpPort>');
  process.exit(2);
}
const flags = testBrokerFlags(dir, {
  http: { port: Number(portArg) },
  // Many kills in a row may catch the same message in flight each time: never dead-letter here.
  queues: [{ name: 'http-crash', subscriptions: ['crash/#'], maxRedelivery: 1_000_000 }],
});
await createBroker(loadConfig({ env: {}, flags }), { logger: silentLogger() });
process.stdout.write('ready\n');
