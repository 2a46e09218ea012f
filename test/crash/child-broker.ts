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
import { writeSync } from 'node:fs';
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

// A line must be in the kernel's pipe buffer before the child acts on what it says, or SIGKILL
// loses it. process.stdout does not promise that: when the parent reads slowly and the pipe is
// full, it keeps the rest in this process's memory (seen: 267 kB held), and a kill then drops
// lines such as "acking", which made an acknowledged-and-consumed message look lost. So lines
// go out with writeSync on fd 1, retried while the pipe is full: the child waits for the parent.
const out = (line: string): void => {
  const bytes = Buffer.from(`${line}\n`);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
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
