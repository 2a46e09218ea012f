// AMQP 1.0 throughput and latency over Sluice's durable path: rhea publishers send 200-byte messages
// to a topic routed to a durable queue (each settled `accepted` only after the group commit), one rhea
// receiver consumes the queue with link credit and accepts each delivery (the ack is committed too).
// Scenarios 1→1 and 8→1; the broker runs in its own process; deliveries are counted.
//
//   npm run bench:amqp            (MESSAGES=20000 by default; ROUNDS=3)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import rhea, { type EventContext } from 'rhea';
import { Engine } from '../core/engine/engine.ts';
import { silentLogger } from '../core/log.ts';
import { startAmqp } from '../core/protocols/amqp/index.ts';
import { tempDir, testEngineOptions } from '../test/helpers/engine.ts';

const messages = Number(process.env['MESSAGES'] ?? 20_000);
const rounds = Number(process.env['ROUNDS'] ?? 3);
const payloadBytes = 200;
const windowPerPublisher = 100;
const receiverCredit = 500;

if (process.argv[2] === '--broker') {
  // Broker mode: engine on a temp dir, AMQP on a free port; prints `ready <port>`.
  const { dir, cleanup } = tempDir('sluice-bench-amqp-');
  const engine = await Engine.open(testEngineOptions(dir));
  for (const shape of ['1x1', '8x1']) await engine.ensureQueue(`bench-${shape}`, { subscriptions: [`bench/${shape}`] });
  const amqp = await startAmqp(engine, { port: 0, allowAnonymous: true }, silentLogger());
  process.stdout.write(`ready ${amqp.ports.amqp}\n`);
  process.on('SIGTERM', () => {
    void amqp
      .close()
      .then(() => engine.close())
      .finally(() => {
        cleanup();
        process.exit(0);
      });
  });
} else await main();

interface Result {
  readonly delivered: number;
  readonly expected: number;
  readonly msgPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly acceptP50Ms: number;
}

async function startBroker(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--broker'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const match = /ready (\d+)/.exec(out);
    if (match) return { port: Number(match[1]), child };
  }
  throw new Error('broker did not start');
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function scenario(port: number, publishers: number): Promise<Result> {
  const shape = `${publishers}x1`;
  const latencies: number[] = [];
  const acceptLatencies: number[] = [];
  let delivered = 0;
  const container = rhea.create_container({ id: `bench-${shape}-${Date.now()}` });
  const consumerConnection = container.connect({ host: '127.0.0.1', port, reconnect: false });
  const receiver = consumerConnection.open_receiver({
    source: { address: `queue://bench-${shape}` },
    credit_window: receiverCredit,
    autoaccept: true,
  });
  receiver.on('message', (context: EventContext) => {
    delivered++;
    const body = context.message!.body as { content: Buffer };
    latencies.push(performance.now() - body.content.readDoubleLE(0));
  });
  await once(receiver, 'receiver_open');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: publishers }, async (_, p) => {
      const share = Math.floor(messages / publishers) + (p < messages % publishers ? 1 : 0);
      const connection = container.connect({ host: '127.0.0.1', port, reconnect: false });
      const sender = connection.open_sender(`topic://bench/${shape}`);
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
            sentAt.set(sender.send({ body: rhea.message.data_section(payload) }), now);
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
      });
      connection.close();
    }),
  );
  const deadline = performance.now() + 30_000;
  while (delivered < messages && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const elapsedS = (performance.now() - started) / 1000;
  consumerConnection.close();
  return {
    delivered,
    expected: messages,
    msgPerSec: Math.round(delivered / elapsedS),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    acceptP50Ms: percentile(acceptLatencies, 50),
  };
}

async function main(): Promise<void> {
  console.log(
    `AMQP benchmark: ${messages} × ${payloadBytes} B per scenario, ${windowPerPublisher} unsettled per publisher, ` +
      `receiver credit ${receiverCredit}, ${rounds} rounds, broker in its own process`,
  );
  const results = new Map<number, Result[]>();
  for (let round = 0; round < rounds; round++)
    for (const publishers of [1, 8]) {
      const { port, child } = await startBroker();
      try {
        const result = await scenario(port, publishers);
        results.set(publishers, [...(results.get(publishers) ?? []), result]);
        console.log(
          `round ${round + 1} ${publishers}→1 ${result.msgPerSec} msg/s, end-to-end p50 ${result.p50Ms.toFixed(1)} ` +
            `p99 ${result.p99Ms.toFixed(1)} ms, accept p50 ${result.acceptP50Ms.toFixed(1)} ms, ` +
            `delivered ${result.delivered}/${result.expected}`,
        );
      } finally {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
    }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log('\n| shape | msg/s | end-to-end p50 / p99 ms | publish→accepted p50 ms | delivered (min / expected) |');
  console.log('|---|---|---|---|---|');
  for (const [publishers, list] of results)
    console.log(
      `| ${publishers}→1 | ${median(list.map((r) => r.msgPerSec))} | ${median(list.map((r) => r.p50Ms)).toFixed(1)} / ` +
        `${median(list.map((r) => r.p99Ms)).toFixed(1)} | ${median(list.map((r) => r.acceptP50Ms)).toFixed(1)} | ` +
        `${Math.min(...list.map((r) => r.delivered))} / ${messages} |`,
    );
}
