// The broker half of the AMQP kill -9 test (amqp-crash.test.ts): opens the engine on the data dir it
// is given, ensures the crash queue, starts the AMQP listener on the given port and prints `ready`.
// The parent runs the clients and SIGKILLs this process.
//
// Usage: node --import tsx test/crash/amqp-child-broker.ts <dataDir> <port>
import { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { startAmqp } from '../../core/protocols/amqp/index.ts';
import { testEngineOptions } from '../helpers/engine.ts';

const [dir, portArg] = process.argv.slice(2);
if (dir === undefined || portArg === undefined) {
  console.error('usage: amqp-child-broker.ts <dataDir> <port>');
  process.exit(2);
}
const engine = await Engine.open(testEngineOptions(dir));
// Many kills in a row may catch the same message in flight each time: never dead-letter here.
await engine.ensureQueue('amqp-crash', { subscriptions: ['crash/#'], maxRedelivery: 1_000_000 });
await startAmqp(engine, { port: Number(portArg), allowAnonymous: true }, silentLogger());
process.stdout.write('ready\n');
