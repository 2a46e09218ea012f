// AMQP 1.0 throughput, latency and broker CPU: `sluice serve` as a user runs it (security on, the
// clients log in with SASL PLAIN as the bench user) against Debian's RabbitMQ 3.x with its AMQP 1.0
// plugin, in the same run. rhea publishers send durable 200-byte messages (one data section), each
// settled `accepted` only once the broker has it on disk (Sluice: group commit with fsync; RabbitMQ:
// a durable message in a durable queue is confirmed after its store write); one rhea receiver
// consumes with link credit and accepts every delivery. Shapes 1→1 and 8→1; every delivery counted.
//
// Addresses: Sluice publishers send to `topic://bench/<shape>`, routed to the durable queue
// `bench/q-<shape>` (the product's pub/sub path; the queue is created through the HTTP API);
// RabbitMQ publishers send to `/queue/bench-<shape>` (the plugin's default-exchange route into a
// durable queue), since a topic route there needs an exchange binding the plugin does not make.
//
// Per broker and shape: deliveries/s, broker CPU µs per delivery (user + sys of the broker process,
// from /proc: for RabbitMQ the Erlang VM), p50/p99 end-to-end latency, publish→accepted p50, peak
// RSS, and per-round paired Sluice/RabbitMQ ratios. Each round starts each broker fresh, the order
// alternating per round; each shape gets a warm-up (20 % of the messages, at most 5,000) through the
// same broker first, not measured. The clients run in this process and share the machine with the brokers.
//
//   npm run bench:amqp           MESSAGES=20000, ROUNDS=5
//   QUICK=1 npm run bench:amqp   MESSAGES=5000, ROUNDS=1 (checks the harness)
//   ONLY=sluice|rabbitmq
import rhea, { type EventContext } from 'rhea';
import { createHttpClient } from '../core/api/client.ts';
import { startRabbit } from '../test/integration/bridge-helpers.ts';
import { cpuMicros, fmt, median, peakRssMb, startSluiceServe } from './processes.ts';

const quick = process.env.QUICK === '1';
const messages = Number(process.env.MESSAGES ?? (quick ? 5_000 : 20_000));
const rounds = Number(process.env.ROUNDS ?? (quick ? 1 : 5));
const only = process.env.ONLY;
const payloadBytes = 200;
const windowPerPublisher = 100;
const receiverCredit = 500;
const shapes = [1, 8] as const;
const warmup = Math.min(5000, Math.max(500, Math.floor(messages / 5)));

type BrokerKind = 'sluice' | 'rabbitmq';

interface Result {
  readonly delivered: number;
  readonly expected: number;
  readonly msgPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly acceptP50Ms: number;
  readonly cpuUsPerDelivery: number;
  readonly peakRssMb: number;
}

/** A running broker: where clients connect, as whom, which addresses, and its process. */
interface AmqpBroker {
  readonly port: number;
  readonly auth?: { username: string; password: string };
  readonly pid: () => number;
  readonly target: (publishers: number) => string;
  readonly source: (publishers: number) => string;
  stop(): Promise<void>;
}

async function startBroker(kind: BrokerKind): Promise<AmqpBroker> {
  if (kind === 'rabbitmq') {
    const rabbit = await startRabbit();
    return {
      port: rabbit.port,
      auth: { username: 'guest', password: 'guest' },
      pid: () => rabbit.vmPid(),
      target: (p) => `/queue/bench-${p}x1`,
      source: (p) => `/queue/bench-${p}x1`,
      stop: () => rabbit.cleanup(),
    };
  }
  const sluice = await startSluiceServe();
  const admin = createHttpClient(sluice.httpUrl);
  admin.setAuth(sluice.admin);
  for (const p of shapes)
    await admin.call('queues.create', { name: `bench/q-${p}x1`, subscriptions: [`bench/${p}x1`] });
  return {
    port: sluice.amqpPort,
    auth: sluice.auth,
    pid: () => sluice.pid,
    target: (p) => `topic://bench/${p}x1`,
    source: (p) => `queue://bench/q-${p}x1`,
    stop: () => sluice.stop(),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function scenario(broker: AmqpBroker, publishers: number, messages: number): Promise<Result> {
  const latencies: number[] = [];
  const acceptLatencies: number[] = [];
  let delivered = 0;
  const container = rhea.create_container({ id: `bench-${publishers}x1-${Date.now()}` });
  // A broker stopping after the scenario closes what is left with an error; during the run a
  // closed connection rejects through its 'disconnected' handler below.
  container.on('error', () => {});
  const connect = () => container.connect({ host: '127.0.0.1', port: broker.port, reconnect: false, ...broker.auth });
  const consumerConnection = connect();
  const receiver = consumerConnection.open_receiver({
    source: { address: broker.source(publishers), durable: 2 },
    credit_window: receiverCredit,
    autoaccept: true,
  });
  receiver.on('message', (context: EventContext) => {
    delivered++;
    const body = context.message!.body as { content: Buffer };
    latencies.push(performance.now() - body.content.readDoubleLE(0));
  });
  await new Promise<void>((resolve, reject) => {
    receiver.once('receiver_open', () => resolve());
    consumerConnection.once('disconnected', (context: EventContext) =>
      reject(context.error ?? new Error('the consumer connection closed')),
    );
  });
  // The publishers connect (SASL PLAIN: Sluice checks an scrypt hash, a deliberate ~50 ms of CPU
  // per login) and attach before the measured round: it measures messaging, not logins.
  const publishing = await Promise.all(
    Array.from({ length: publishers }, async () => {
      const connection = connect();
      const sender = connection.open_sender({ target: { address: broker.target(publishers), durable: 2 } });
      await new Promise<void>((resolve, reject) => {
        sender.once('sender_open', () => resolve());
        connection.once('disconnected', (context: EventContext) =>
          reject(context.error ?? new Error('the publisher connection closed')),
        );
      });
      return { connection, sender };
    }),
  );
  const pid = broker.pid();
  const cpuAtStart = cpuMicros(pid);
  const started = performance.now();
  await Promise.all(
    publishing.map(async ({ connection, sender }, p) => {
      const share = Math.floor(messages / publishers) + (p < messages % publishers ? 1 : 0);
      const sentAt = new WeakMap<object, number>();
      let sent = 0;
      let settled = 0;
      let unsettled = 0;
      await new Promise<void>((resolve, reject) => {
        const fill = (): void => {
          while (sent < share && unsettled < windowPerPublisher && sender.sendable()) {
            const payload = Buffer.alloc(payloadBytes);
            const now = performance.now();
            payload.writeDoubleLE(now, 0);
            sentAt.set(sender.send({ durable: true, body: rhea.message.data_section(payload) }), now);
            sent++;
            unsettled++;
          }
        };
        sender.on('sendable', fill);
        sender.on('accepted', (context: EventContext) => {
          acceptLatencies.push(performance.now() - sentAt.get(context.delivery!)!);
          unsettled--;
          if (++settled === share) resolve();
          else fill();
        });
        sender.on('rejected', () => reject(new Error('a benchmark message was rejected')));
        connection.once('disconnected', (context: EventContext) =>
          reject(context.error ?? new Error('the publisher connection closed')),
        );
        fill();
      });
      connection.close();
    }),
  );
  const deadline = performance.now() + 30_000;
  while (delivered < messages && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsedS = (performance.now() - started) / 1000;
  const cpuUsed = cpuMicros(pid) - cpuAtStart;
  consumerConnection.close();
  return {
    delivered,
    expected: messages,
    msgPerSec: delivered / elapsedS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    acceptP50Ms: percentile(acceptLatencies, 50),
    cpuUsPerDelivery: cpuUsed / delivered,
    peakRssMb: peakRssMb(pid),
  };
}

console.log(
  `AMQP benchmark: ${messages} durable × ${payloadBytes} B per shape, ${windowPerPublisher} unsettled per publisher, ` +
    `receiver credit ${receiverCredit}, ${rounds} round(s); sluice = \`sluice serve\` (security on) vs Debian's RabbitMQ`,
);
if (quick)
  console.log(
    'QUICK=1 checks the harness: one short round is no figure (seen: twice the CPU per delivery of a full run)',
  );
const brokers: BrokerKind[] = only ? [only as BrokerKind] : ['sluice', 'rabbitmq'];
const results = new Map<string, Result[]>();
for (let round = 0; round < rounds; round++)
  for (const kind of round % 2 === 0 ? brokers : [...brokers].reverse()) {
    const broker = await startBroker(kind);
    try {
      for (const publishers of shapes) {
        // A warm-up through the same broker and addresses first (JIT, sockets), not measured.
        await scenario(broker, publishers, warmup);
        const result = await scenario(broker, publishers, messages);
        const key = `${kind} ${publishers}→1`;
        results.set(key, [...(results.get(key) ?? []), result]);
        console.log(
          `round ${round + 1} ${key.padEnd(14)} ${fmt(result.msgPerSec).padStart(6)} msg/s ` +
            `${fmt(result.cpuUsPerDelivery, 1).padStart(6)} µs/delivery, end-to-end p50 ${fmt(result.p50Ms, 1)} ` +
            `p99 ${fmt(result.p99Ms, 1)} ms, accept p50 ${fmt(result.acceptP50Ms, 1)} ms, RSS ${fmt(result.peakRssMb)} MB, ` +
            `delivered ${result.delivered}/${result.expected}`,
        );
      }
    } finally {
      await broker.stop();
    }
  }

const med = (list: Result[], field: keyof Result) => median(list.map((r) => r[field]));
const cells = (list: Result[]) =>
  `${fmt(med(list, 'msgPerSec'))} | ${fmt(med(list, 'cpuUsPerDelivery'), 1)} | ${fmt(med(list, 'p50Ms'), 1)} / ` +
  `${fmt(med(list, 'p99Ms'), 1)} | ${fmt(med(list, 'acceptP50Ms'), 1)} | ${fmt(med(list, 'peakRssMb'))}`;
const paired = (a: Result[], b: Result[], field: keyof Result) => a.map((r, i) => r[field] / (b[i]?.[field] ?? NaN));
const ratioText = (ratios: number[]) => `**${fmt(median(ratios), 2)}** (${ratios.map((r) => fmt(r, 2)).join(', ')})`;
const rows = [
  '| shape | broker | msg/s | µs/delivery | end-to-end p50 / p99 ms | publish→accepted p50 ms | peak RSS MB | Sluice/RabbitMQ throughput per round | Sluice/RabbitMQ CPU per delivery per round | delivered (fewest / expected) |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const publishers of shapes) {
  const sluice = results.get(`sluice ${publishers}→1`) ?? [];
  const rabbit = results.get(`rabbitmq ${publishers}→1`) ?? [];
  for (const [kind, list] of [
    ['sluice', sluice],
    ['rabbitmq', rabbit],
  ] as const) {
    if (list.length === 0) continue;
    const ratios = kind === 'sluice' && rabbit.length > 0;
    rows.push(
      `| ${publishers}→1 | ${kind} | ${cells(list)} | ${ratios ? ratioText(paired(sluice, rabbit, 'msgPerSec')) : ''} | ` +
        `${ratios ? ratioText(paired(sluice, rabbit, 'cpuUsPerDelivery')) : ''} | ` +
        `${Math.min(...list.map((r) => r.delivered))} / ${messages} |`,
    );
  }
}
console.log(`\nMedians of ${rounds} round(s):\n\n${rows.join('\n')}`);
