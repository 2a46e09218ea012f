// The broker half of the MQTT kill -9 test (mqtt-crash.test.ts): opens the engine on the data
// dir it is given, starts the MQTT listener on the given port and prints `ready` once it accepts.
// The parent runs the clients and SIGKILLs this process.
//
// Usage: node --import tsx test/crash/mqtt-child-broker.ts <dataDir> <port>
import { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { startMqtt } from '../../core/protocols/mqtt/index.ts';
import { testEngineOptions } from '../helpers/engine.ts';

const [dir, portArg] = process.argv.slice(2);
if (dir === undefined || portArg === undefined) {
  console.error('usage: mqtt-child-broker.ts <dataDir> <port>');
  process.exit(2);
}
const engine = await Engine.open(testEngineOptions(dir));
await startMqtt(
  engine,
  {
    tcp: { port: Number(portArg) },
    ws: { enabled: false },
    // Many kills in a row may catch the same message in flight each time: never dead-letter here.
    persistentSessionQueue: { maxRedelivery: 1_000_000 },
  },
  silentLogger(),
);
process.stdout.write('ready\n');
