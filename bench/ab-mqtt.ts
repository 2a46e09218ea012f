// Before/after helper (not a benchmark): this checkout's `sluice serve` against another's, both
// started once and kept up, with one load shape run against each in turn, many short rounds in a
// random order per pair. On a VM whose speed drifts by tens of percent within minutes, only a
// ratio taken within one pair says whether a change helped; the median of those ratios is printed.
//   SLUICE_BASELINE=<checkout> node --import tsx bench/ab-mqtt.ts <qos> <publishers>x<subscribers> <messages> <pairs>
// COLD=1 starts a fresh pair of brokers for every round instead (start-up costs included, as in
// bench:mqtt's main section); AB_FLAGS='--flag …' gives this checkout's broker V8 flags beyond
// core/node-flags.ts (a flag against the same code in the other checkout).
import { createInterface } from 'node:readline';
import type { LoadResult } from './mqtt-load.ts';
import { brokerNodeFlags } from '../core/node-flags.ts';
import { cpuSplitMicros, fmt, median, spawnMqttLoad, startSluiceServe } from './processes.ts';

const [qos = '0', shape = '1x1', count = '50000', pairs = '9'] = process.argv.slice(2);
const [publishers, subscribers] = shape.split('x').map(Number);
const baselineCheckout = process.env.SLUICE_BASELINE;
if (!baselineCheckout) throw new Error('SLUICE_BASELINE=<another checkout> is required');

type Broker = Awaited<ReturnType<typeof startSluiceServe>>;
interface Reading {
  msgPerSec: number;
  userUs: number;
  sysUs: number;
}

/** One measured round against `broker`: CPU per delivery, user and system apart. */
async function round(broker: Broker): Promise<Reading> {
  const child = spawnMqttLoad(broker, {
    qos: Number(qos) as 0 | 1,
    publishers: publishers!,
    subscribers: subscribers!,
    total: Number(count),
  });
  let start = { user: 0, sys: 0 };
  let used = { user: 0, sys: 0 };
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'measure') start = cpuSplitMicros(broker.pid);
    if (line === 'measured') {
      const end = cpuSplitMicros(broker.pid);
      used = { user: end.user - start.user, sys: end.sys - start.sys };
    }
    if (line === 'measure' || line === 'measured') child.stdin.write('go\n');
    if (line.startsWith('{')) {
      const result = JSON.parse(line) as LoadResult;
      if (result.delivered !== result.expected) throw new Error(`delivered ${result.delivered} of ${result.expected}`);
      return { msgPerSec: result.msgPerSec, userUs: used.user / result.delivered, sysUs: used.sys / result.delivered };
    }
  }
  throw new Error('the load generator ended without a result');
}

const extraFlags = (process.env.AB_FLAGS ?? '').split(' ').filter(Boolean);
const start = {
  after: () => startSluiceServe({ nodeFlags: [...brokerNodeFlags, ...extraFlags] }),
  before: () => startSluiceServe({ checkout: baselineCheckout }),
};
const cold = process.env.COLD === '1';
const brokers: Partial<Record<'after' | 'before', Broker>> = cold
  ? {}
  : { after: await start.after(), before: await start.before() };
try {
  const ratios: number[] = [];
  const readings: Record<'after' | 'before', Reading[]> = { after: [], before: [] };
  for (let i = 0; i < Number(pairs); i++) {
    const order = Math.random() < 0.5 ? (['after', 'before'] as const) : (['before', 'after'] as const);
    const pair: Partial<Record<'after' | 'before', Reading>> = {};
    for (const which of order) {
      const broker = (brokers[which] ??= await start[which]());
      pair[which] = await round(broker);
      if (cold) {
        await broker.stop();
        delete brokers[which];
      }
    }
    for (const which of order) readings[which].push(pair[which]!);
    const total = (r: Reading) => r.userUs + r.sysUs;
    ratios.push(total(pair.after!) / total(pair.before!));
    console.log(
      `pair ${i + 1}: after ${fmt(total(pair.after!), 1)} µs (user ${fmt(pair.after!.userUs, 1)}), ` +
        `before ${fmt(total(pair.before!), 1)} µs (user ${fmt(pair.before!.userUs, 1)}), ratio ${fmt(ratios.at(-1)!, 2)}`,
    );
  }
  const med = (which: 'after' | 'before', field: keyof Reading) => median(readings[which].map((r) => r[field]));
  for (const which of ['after', 'before'] as const)
    console.log(
      `${which}: ${fmt(med(which, 'msgPerSec'))} msg/s, user ${fmt(med(which, 'userUs'), 2)} µs, sys ${fmt(med(which, 'sysUs'), 2)} µs per delivery (medians)`,
    );
  console.log(`CPU per delivery, after / before: median of ${ratios.length} pairs ${fmt(median(ratios), 3)}`);
} finally {
  await Promise.all([brokers.after?.stop(), brokers.before?.stop()]);
}
