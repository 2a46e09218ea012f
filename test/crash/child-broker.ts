// The broker half of the kill -9 test (engine-crash.test.ts). It opens the engine on the data
// dir it is given, runs concurrent publishers and consumers, and reports on stdout only what
// the engine has confirmed durable. The parent SIGKILLs it at a random moment.
//
//   producing                 engine open, publishers about to start
//   acked <seq> <id>          engine.publish(<seq>) resolved: durable under log id <id>
//   delivered <id> <count>    a consumer received <id> with delivery count <count>
//   acking <id>               about to ack <id> (the ack may or may not commit before the kill)
//   consumed <id>             the ack of <id> resolved: durable
//   error <text>              something unexpected; the parent fails the test
//
// Usage: node --import tsx test/crash/child-broker.ts <dataDir> <seed> <round>
import type { Delivery } from '../../core/engine/consumer.ts';
import { Engine } from '../../core/engine/engine.ts';
import { SluiceError } from '../../core/errors.ts';
import { testEngineOptions } from '../helpers/engine.ts';
import { crashQueue, crashQueueConfig, mulberry32, payloadFor } from './crash-plan.ts';

const [dir, seedArg, roundArg] = process.argv.slice(2);
if (dir === undefined || seedArg === undefined || roundArg === undefined) {
  console.error('usage: child-broker.ts <dataDir> <seed> <round>');
  process.exit(2);
}
const round = Number(roundArg);
const random = mulberry32(Number(seedArg) + round * 7919);
const publishers = 4;
const prefetch = 32;
/** Share of deliveries failed instead of acked, so delivery counts climb across restarts. */
const failRatio = 0.3;

// On Linux, writes to a pipe are synchronous: once write() returns the line is in the kernel's
// pipe buffer and survives SIGKILL, so the parent never misses a line that was printed.
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const unexpected = (error: unknown): void => {
  // broker-closing cannot happen here (nobody closes); anything else is a real failure.
  const text = error instanceof SluiceError ? `${error.code}: ${error.detail}` : String(error);
  out(`error ${text.replace(/\n/g, ' ')}`);
};

const engine = await Engine.open(testEngineOptions(dir));
await engine.ensureQueue(crashQueue, crashQueueConfig);

for (let c = 0; c < 2; c++) {
  const consumer = engine.consume(crashQueue, {
    label: `crash-consumer-${c}`,
    flow: { mode: 'prefetch', prefetch },
    onDelivery: (delivery: Delivery) => {
      const id = delivery.message.id;
      out(`delivered ${id} ${delivery.deliveryCount}`);
      if (random() < failRatio) {
        consumer.fail(delivery.deliveryId, 'crash test: simulated processing failure').catch(unexpected);
        return;
      }
      out(`acking ${id}`);
      consumer
        .ack(delivery.deliveryId)
        .then(() => out(`consumed ${id}`))
        .catch(unexpected);
    },
  });
}

out('producing');
for (let p = 0; p < publishers; p++) {
  void (async () => {
    for (let n = 0; ; n++) {
      const seq = `${round}.${p}.${n}`;
      try {
        // Each publisher awaits its publish before the next, like a QoS 1 client.
        const receipt = await engine.publish({ topic: `crash/p${p}`, payload: payloadFor(seq), headers: { seq } });
        out(`acked ${seq} ${receipt.id}`);
      } catch (error) {
        unexpected(error);
        return;
      }
    }
  })();
}
