// A whole broker with security on, in a child process the will test can kill -9
// (security-ownership.test.ts). The first start creates the role `line1` (everything on
// plant/line1/#) and the user `limited`, and prints the admin's password.
//
//   ready <admin password, first start only>
//
// Usage: node --import tsx test/integration/security-child-broker.ts <dataDir> <mqttPort> <httpPort>
import { createBroker } from '../../core/broker.ts';
import { loadConfig } from '../../core/config.ts';
import { silentLogger } from '../../core/log.ts';
import { testBrokerFlags } from '../helpers/broker.ts';

const [dir, mqttPort, httpPort] = process.argv.slice(2);
if (dir === undefined || mqttPort === undefined || httpPort === undefined) {
  console.error('usage: security-child-broker.ts <dataDir> <mqttPort> <httpPort>');
  process.exit(2);
}
const config = loadConfig({
  env: {},
  flags: testBrokerFlags(dir, {
    security: { anonymous: false },
    http: { port: Number(httpPort) },
    // Wills of a broker that died are published 4 heartbeats after the restart.
    mqtt: { tcp: { port: Number(mqttPort) }, heartbeatIntervalMs: 100 },
  }),
});
const broker = await createBroker(config, { logger: silentLogger() });
if (broker.firstRunAdmin) {
  broker.security.putRole('line1', 'everything on line 1', [{ actions: ['*'], patterns: ['plant/line1/#'] }]);
  await broker.security.createUser('limited', 'limited-password', ['line1']);
}
process.stdout.write(`ready ${broker.firstRunAdmin?.password ?? ''}\n`);
