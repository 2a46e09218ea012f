// MQTT throughput and latency: Sluice (aedes on the engine, durable, group commit) against
// Debian's Mosquitto (no persistence, max_queued_messages 0 so it drops nothing) in the same run.
// 200-byte payloads; scenarios 1→1, 16→1, 1→16 at QoS 0 and QoS 1; deliveries are counted.
//
// Fair by construction: each broker runs in a process of its own (bench/mqtt-broker-child.ts for
// Sluice, `mosquitto -c` for Mosquitto), and the clients run in a third process
// (bench/mqtt-load.ts), identical for both. Every scenario runs REPEAT times with a fresh broker,
// Sluice and Mosquitto interleaved (the order alternates per round); the table shows medians, and
// the ratio as the median of each round's Sluice/Mosquitto ratio.
//
//   npm run bench:mqtt    MESSAGES=50000 per scenario (1→16: MESSAGES/16 published), REPEAT=3,
//                         ONLY=sluice|mosquitto, SCENARIOS=0:1x1,1:16x1 (QoS:PxS),
//                         SLUICE_CPU_PROF=<dir> writes a CPU profile of each Sluice broker run,
//                         SLUICE_BASELINE=<checkout> adds a third broker, Sluice from another checkout
//                         (e.g. a git worktree of an older commit, with these bench files copied in),
//                         interleaved with the other two, for before/after figures from one run,
//                         SLUICE_BROKER_FLAGS / SLUICE_BASELINE_FLAGS='<node flags>' instead of
//                         core/node-flags.ts for Sluice / the baseline ('' for none).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { brokerNodeFlags } from '../core/node-flags.ts';
import { tempDir } from '../test/helpers/engine.ts';
import type { LoadResult, LoadSpec } from './mqtt-load.ts';

const messages = Number(process.env.MESSAGES ?? 50_000);
const repeat = Number(process.env.REPEAT ?? 3);
const only = process.env.ONLY;
const cpuProfDir = process.env.SLUICE_CPU_PROF;
const baselineDir = process.env.SLUICE_BASELINE;
const here = new URL('.', import.meta.url).pathname;

type Broker = 'sluice' | 'mosquitto' | 'baseline';
interface Scenario {
  qos: 0 | 1;
  publishers: number;
  subscribers: number;
}

const allScenarios: Scenario[] = [0, 1].flatMap((qos) =>
  [
    [1, 1],
    [16, 1],
    [1, 16],
  ].map(([publishers, subscribers]) => ({ qos: qos as 0 | 1, publishers: publishers!, subscribers: subscribers! })),
);
const scenarios = process.env.SCENARIOS
  ? process.env.SCENARIOS.split(',').map((s) => {
      const [qos, shape] = s.split(':');
      const [publishers, subscribers] = shape!.split('x').map(Number);
      return { qos: Number(qos) as 0 | 1, publishers: publishers!, subscribers: subscribers! };
    })
  : allScenarios;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the first stdout line of `child` that matches, rejects if it exits first. */
function firstLine(child: ChildProcess, match: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before printing ${match}`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const found = line.match(match);
      if (!found) return;
      child.off('exit', onExit);
      lines.close();
      resolve(found);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a broker in its own process; returns its URL and how to stop it. */
async function startBroker(broker: Broker): Promise<{ url: string; stop: () => Promise<void> }> {
  if (broker === 'sluice' || broker === 'baseline') {
    const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
    // Sluice as shipped (core/node-flags.ts), unless SLUICE_BROKER_FLAGS / SLUICE_BASELINE_FLAGS say otherwise.
    const override = process.env[broker === 'sluice' ? 'SLUICE_BROKER_FLAGS' : 'SLUICE_BASELINE_FLAGS'];
    const flags = override === undefined ? brokerNodeFlags : override.split(' ').filter(Boolean);
    const script =
      broker === 'sluice' ? join(here, 'mqtt-broker-child.ts') : join(baselineDir!, 'bench/mqtt-broker-child.ts');
    const child = spawn(process.execPath, [...profile, ...flags, '--import', 'tsx', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const [, port] = await firstLine(child, /^ready (\d+)$/);
    return { url: `mqtt://127.0.0.1:${port}`, stop: () => stopChild(child) };
  }
  // The free port may be taken again before mosquitto binds it (other processes share the
  // machine): try a few ports.
  for (let attempt = 1; ; attempt++) {
    const started = await startMosquitto().catch((error: unknown) => {
      if (attempt >= 3) throw error;
      return null;
    });
    if (started) return started;
  }
}

async function startMosquitto(): Promise<{ url: string; stop: () => Promise<void> }> {
  const { dir, cleanup } = tempDir('sluice-bench-mosquitto-');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const stop = async () => {
    await stopChild(child);
    cleanup();
  };
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const bound = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (bound && child.exitCode === null) break;
    if (i > 400 || child.exitCode !== null) {
      await stop();
      throw new Error(`mosquitto did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { url, stop };
}

/** One measured run: a fresh broker, the load generator in its own process. */
async function run(broker: Broker, scenario: Scenario): Promise<LoadResult> {
  const { url, stop } = await startBroker(broker);
  try {
    const total = scenario.subscribers === 1 ? messages : Math.max(1000, Math.floor(messages / scenario.subscribers));
    const spec: LoadSpec = { url, ...scenario, total };
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'mqtt-load.ts'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = await firstLine(child, /^\{.*\}$/);
    await once(child, 'exit');
    return JSON.parse(line) as LoadResult;
  } finally {
    await stop();
  }
}

const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

const brokers: Broker[] = only
  ? [only as Broker]
  : baselineDir
    ? ['sluice', 'mosquitto', 'baseline']
    : ['sluice', 'mosquitto'];
const results = new Map<string, Record<Broker, LoadResult[]>>();
const key = (s: Scenario) => `${s.qos}:${s.publishers}→${s.subscribers}`;
for (const s of scenarios) results.set(key(s), { sluice: [], mosquitto: [], baseline: [] });

console.log(
  `MQTT benchmark: ${messages} × 200 B per scenario (1→16: ${Math.floor(messages / 16)} published), ` +
    `100 in flight per publisher, ${repeat} rounds, brokers and clients in separate processes`,
);
for (let round = 0; round < repeat; round++)
  for (const scenario of scenarios) {
    // Interleaved, the order rotating and reversing per round: drift on a shared machine
    // (other processes, disk load) hits every broker alike.
    const rotated = brokers.map((_, i) => brokers[(i + Math.floor(round / 2)) % brokers.length]!);
    const order = round % 2 === 0 ? rotated : rotated.reverse();
    for (const broker of order) {
      const result = await run(broker, scenario);
      results.get(key(scenario))![broker].push(result);
      console.log(
        `round ${round + 1} QoS ${key(scenario)} ${broker.padEnd(9)} ${fmt(result.msgPerSec).padStart(7)} msg/s ` +
          `p50 ${fmt(result.p50Ms, 1)} p99 ${fmt(result.p99Ms, 1)} ms, delivered ${result.delivered}/${result.expected}`,
      );
    }
  }

const m = (list: LoadResult[], field: keyof LoadResult) => median(list.map((r) => r[field]));
const delivered = (list: LoadResult[]) => (list.length ? Math.min(...list.map((r) => r.delivered)) : NaN);
// Each round's runs follow one another, so a round's ratio sees the same machine; the median of those
// resists drift (Mosquitto alone has gone from 16k to 26k msg/s within one run) better than a ratio of medians.
const paired = (a: LoadResult[], b: LoadResult[]) => a.map((r, i) => r.msgPerSec / (b[i]?.msgPerSec ?? NaN));
const pairedText = (ratios: number[]) => `**${fmt(median(ratios), 2)}** (${ratios.map((r) => fmt(r, 2)).join(', ')})`;
const rows = [
  '| QoS | shape | Sluice msg/s | Mosquitto msg/s | ratio per round: median (rounds) | ratio of medians | Sluice p50 / p99 ms | Mosquitto p50 / p99 ms | delivered (Sluice / Mosquitto / expected, every run) |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const scenario of scenarios) {
  const { sluice, mosquitto } = results.get(key(scenario))!;
  const expected = sluice[0]?.expected ?? mosquitto[0]?.expected ?? NaN;
  rows.push(
    `| ${scenario.qos} | ${scenario.publishers}→${scenario.subscribers} | ${fmt(m(sluice, 'msgPerSec'))} | ` +
      `${fmt(m(mosquitto, 'msgPerSec'))} | ${pairedText(paired(sluice, mosquitto))} | ` +
      `${fmt(m(sluice, 'msgPerSec') / m(mosquitto, 'msgPerSec'), 2)} | ` +
      `${fmt(m(sluice, 'p50Ms'), 1)} / ${fmt(m(sluice, 'p99Ms'), 1)} | ` +
      `${fmt(m(mosquitto, 'p50Ms'), 1)} / ${fmt(m(mosquitto, 'p99Ms'), 1)} | ` +
      `${fmt(delivered(sluice))} / ${fmt(delivered(mosquitto))} / ${fmt(expected)} |`,
  );
}
console.log(`\nMedians of ${repeat} rounds:\n\n${rows.join('\n')}`);

if (baselineDir) {
  const base = [
    '| QoS | shape | baseline msg/s | ratio to Mosquitto per round | baseline p50 / p99 ms | Sluice msg/s | ratio to Mosquitto per round | delivered (baseline / expected) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const scenario of scenarios) {
    const { sluice, mosquitto, baseline } = results.get(key(scenario))!;
    base.push(
      `| ${scenario.qos} | ${scenario.publishers}→${scenario.subscribers} | ${fmt(m(baseline, 'msgPerSec'))} | ` +
        `${pairedText(paired(baseline, mosquitto))} | ${fmt(m(baseline, 'p50Ms'), 1)} / ${fmt(m(baseline, 'p99Ms'), 1)} | ` +
        `${fmt(m(sluice, 'msgPerSec'))} | ${pairedText(paired(sluice, mosquitto))} | ` +
        `${fmt(delivered(baseline))} / ${fmt(baseline[0]?.expected ?? NaN)} |`,
    );
  }
  console.log(`\nBaseline (${baselineDir}), same run:\n\n${base.join('\n')}`);
}
