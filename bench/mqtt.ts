// MQTT as a user runs it: `sluice serve` in its own process with its defaults (security on, the
// clients log in as an authenticated bench user; HTTP with the UI, MQTT TCP + WebSocket and AMQP
// listeners up; every message committed with fsync before PUBACK and before delivery) against
// Debian's Mosquitto (no persistence, max_queued_messages 0 so it drops nothing), in the same run.
// 200-byte payloads; shapes 1→1, 16→1, 1→16 at QoS 0 and QoS 1; every delivery is counted.
//
// Per broker and shape it reports deliveries/s, the broker's CPU time per delivery (user + sys of
// the broker process over the measured round, from /proc: it holds across machines and under
// other load far better than throughput), p50/p99 latency, peak RSS, and each round's paired
// Sluice/Mosquitto ratios. Extra sections:
//   ui      Sluice with a real Chromium page open on the Topics view and on the Overview during
//           the run, against the UI closed (paired per round): throughput, CPU per delivery, and
//           the page's longest main-thread task (Long Tasks API).
//   steady  1→1 once the broker is past its start-up: a warm-up of as many messages as the
//           measured round (JIT, heap and page-cache growth, the WAL's first fill) before it.
//           A fresh process pays those once; a broker that runs for hours does not (docs/benchmarks.md).
//   pinned  the load generator pinned to CPU 0 and the broker to CPU 1 (taskset), both brokers.
//   engine  the engine-only child (bench/mqtt-broker-child.ts: no security, HTTP or AMQP) as a
//           third broker in the main rotation; off unless named in SECTIONS.
//
// The clients run in a process of their own (bench/mqtt-load.ts), identical for every broker; a
// fresh broker per run; runs are interleaved and the order rotates per round so drift on a shared
// machine hits every broker alike. Tables show medians; ratios are medians of per-round ratios.
//
//   npm run bench:mqtt           full run (MESSAGES=150000, the run length of issue 17's figures; REPEAT=5; about 25 minutes)
//   QUICK=1 npm run bench:mqtt   about a minute: MESSAGES=10000, REPEAT=1 (checks the harness, not figures)
//   MESSAGES, REPEAT, SCENARIOS=0:1x1,1:16x1 (QoS:PxS), SECTIONS=main,steady,ui,pinned,engine,
//   SLUICE_BENCH_OUT=<file> (default bench/results/mqtt-latest.json),
//   SLUICE_BASELINE=<checkout> adds `sluice serve` from another checkout (e.g. a git worktree of an
//   older commit with node_modules and out/renderer) as `baseline` to the main, steady and ui sections,
//   interleaved with the others: before/after figures from one run on the same machine.
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LoadResult } from './mqtt-load.ts';
import {
  cpuSplitMicros,
  fmt,
  median,
  peakRssMb,
  spawnMqttLoad,
  startEngineChild,
  startMosquitto,
  startSluiceServe,
  type BrokerProcess,
} from './processes.ts';
import { chromiumPath, closeUiBrowser, openUiProbe, type UiProbe, type UiView } from './ui-probe.ts';

const quick = process.env.QUICK === '1';
const messages = Number(process.env.MESSAGES ?? (quick ? 10_000 : 150_000));
const repeat = Number(process.env.REPEAT ?? (quick ? 1 : 5));
const sections = new Set((process.env.SECTIONS ?? 'main,steady,ui,pinned').split(','));
const here = new URL('.', import.meta.url).pathname;
const outFile = process.env.SLUICE_BENCH_OUT ?? join(here, 'results/mqtt-latest.json');
const baselineCheckout = process.env.SLUICE_BASELINE;

type BrokerKind = 'sluice' | 'mosquitto' | 'engine' | 'baseline';
interface Scenario {
  readonly qos: 0 | 1;
  readonly publishers: number;
  readonly subscribers: number;
}
/** How a run is set up besides broker and shape. */
interface Variant {
  /** A Chromium page open on this view during the run. */
  readonly ui?: UiView;
  /** Load generator on CPU 0, broker on CPU 1. */
  readonly pinned?: boolean;
  /** Messages through the broker before the measured round (default: the load generator's own, at most 5000). */
  readonly warmup?: number;
}
interface RunResult extends LoadResult {
  /** Broker CPU (user + sys) per delivery over the measured round, µs. */
  readonly cpuUsPerDelivery: number;
  /** Of that, system (kernel) time: mostly system calls, the part that varies most between machines. */
  readonly sysUsPerDelivery: number;
  readonly peakRssMb: number;
  /** With a page open: its longest main-thread task in the measured round, ms. */
  readonly longestTaskMs?: number;
}

const parseScenario = (text: string): Scenario => {
  const [qos, shape] = text.split(':');
  const [publishers, subscribers] = shape!.split('x').map(Number);
  return { qos: Number(qos) as 0 | 1, publishers: publishers!, subscribers: subscribers! };
};
const allScenarios = ['0:1x1', '0:16x1', '0:1x16', '1:1x1', '1:16x1', '1:1x16'].map(parseScenario);
const scenarios = process.env.SCENARIOS ? process.env.SCENARIOS.split(',').map(parseScenario) : allScenarios;
const oneToOne = scenarios.filter((s) => s.publishers === 1 && s.subscribers === 1);
const key = (s: Scenario) => `QoS ${s.qos} ${s.publishers}→${s.subscribers}`;

async function startBroker(kind: BrokerKind, cpus: string | undefined): Promise<BrokerProcess> {
  const options = cpus === undefined ? {} : { cpus };
  if (kind === 'sluice') return startSluiceServe(options);
  if (kind === 'baseline') return startSluiceServe({ ...options, checkout: baselineCheckout! });
  if (kind === 'engine') return startEngineChild(options);
  return startMosquitto(options);
}

/** One measured run: a fresh broker, the load generator in its own process, CPU read around the measured round. */
async function run(kind: BrokerKind, scenario: Scenario, variant: Variant = {}): Promise<RunResult> {
  const broker = await startBroker(kind, variant.pinned ? '1' : undefined);
  let probe: UiProbe | undefined;
  try {
    if (variant.ui) {
      const sluice = broker as Awaited<ReturnType<typeof startSluiceServe>>;
      probe = await openUiProbe(sluice.httpUrl, sluice.admin, variant.ui);
    }
    const total = scenario.subscribers === 1 ? messages : Math.max(1000, Math.floor(messages / scenario.subscribers));
    const child = spawnMqttLoad(
      broker,
      { ...scenario, total, ...(variant.warmup !== undefined && { warmup: variant.warmup }) },
      variant.pinned ? '0' : undefined,
    );
    const exited = once(child, 'exit');
    let cpuAtStart = { user: NaN, sys: NaN };
    let cpuUsed = { user: NaN, sys: NaN };
    let result: LoadResult | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'measure') {
        await probe?.resetTasks();
        cpuAtStart = cpuSplitMicros(broker.pid);
        child.stdin.write('go\n');
      } else if (line === 'measured') {
        const now = cpuSplitMicros(broker.pid);
        cpuUsed = { user: now.user - cpuAtStart.user, sys: now.sys - cpuAtStart.sys };
        child.stdin.write('ok\n');
      } else if (line.startsWith('{')) result = JSON.parse(line) as LoadResult;
    }
    await exited;
    if (!result) throw new Error(`the load generator gave no result (${key(scenario)}, ${kind})`);
    const tasks = await probe?.longTasks();
    return {
      ...result,
      cpuUsPerDelivery: (cpuUsed.user + cpuUsed.sys) / result.delivered,
      sysUsPerDelivery: cpuUsed.sys / result.delivered,
      peakRssMb: peakRssMb(broker.pid),
      ...(tasks && { longestTaskMs: tasks.longestMs }),
    };
  } finally {
    await probe?.close();
    await broker.stop();
  }
}

const log = (label: string, r: RunResult) =>
  console.log(
    `${label.padEnd(44)} ${fmt(r.msgPerSec).padStart(7)} msg/s ${fmt(r.cpuUsPerDelivery, 1).padStart(6)} µs/delivery ` +
      `(sys ${fmt(r.sysUsPerDelivery, 1)}) ` +
      `p50 ${fmt(r.p50Ms, 1)} p99 ${fmt(r.p99Ms, 1)} ms, RSS ${fmt(r.peakRssMb)} MB, ` +
      `delivered ${r.delivered}/${r.expected}${r.longestTaskMs !== undefined ? `, longest task ${fmt(r.longestTaskMs)} ms` : ''}`,
  );

/** Runs `labels` once per round for each scenario, interleaved and rotated; returns runs[scenario][label][round]. */
async function rounds<L extends string>(
  section: string,
  list: readonly Scenario[],
  labels: readonly L[],
  runOne: (label: L, scenario: Scenario) => Promise<RunResult>,
): Promise<Map<string, Record<L, RunResult[]>>> {
  const runs = new Map<string, Record<L, RunResult[]>>();
  for (const s of list)
    runs.set(key(s), Object.fromEntries(labels.map((l) => [l, []])) as unknown as Record<L, RunResult[]>);
  for (let round = 0; round < repeat; round++)
    for (const scenario of list) {
      const rotated = labels.map((_, i) => labels[(i + Math.floor(round / 2)) % labels.length]!);
      for (const label of round % 2 === 0 ? rotated : rotated.reverse()) {
        const result = await runOne(label, scenario);
        runs.get(key(scenario))![label].push(result);
        log(`${section} round ${round + 1} ${key(scenario)} ${label}`, result);
      }
    }
  return runs;
}

const med = (list: readonly RunResult[], field: keyof RunResult) => median(list.map((r) => Number(r[field])));
const minDelivered = (list: readonly RunResult[]) => (list.length ? Math.min(...list.map((r) => r.delivered)) : NaN);
/** Per-round ratios of `field`, a / b (each round's runs followed one another on the same machine). */
const paired = (a: readonly RunResult[], b: readonly RunResult[], field: keyof RunResult) =>
  a.map((r, i) => Number(r[field]) / Number(b[i]?.[field] ?? NaN));
const ratioText = (ratios: number[]) => `**${fmt(median(ratios), 2)}** (${ratios.map((r) => fmt(r, 2)).join(', ')})`;
const brokerCells = (list: readonly RunResult[]) =>
  `${fmt(med(list, 'msgPerSec'))} | ${fmt(med(list, 'cpuUsPerDelivery'), 1)} (${fmt(med(list, 'sysUsPerDelivery'), 1)}) | ` +
  `${fmt(med(list, 'p50Ms'), 1)} / ${fmt(med(list, 'p99Ms'), 1)} | ${fmt(med(list, 'peakRssMb'))}`;

const report: Record<string, unknown> = { messages, repeat, quick, startedAt: new Date().toISOString() };
const tables: string[] = [];

/**
 * The 1→1 shapes, Sluice against Mosquitto (and the baseline, with `withBaseline` and SLUICE_BASELINE)
 * under `variant`, in `section`'s rounds; answers its table's rows (and keeps every run in the report).
 */
async function versusMosquitto(section: string, variant: Variant, withBaseline: boolean): Promise<string[]> {
  const withBase = withBaseline && baselineCheckout !== undefined;
  const brokers = ['sluice', 'mosquitto', ...(withBase ? (['baseline'] as const) : [])] as const;
  const runs = await rounds(section, oneToOne, brokers, (broker, scenario) => run(broker, scenario, variant));
  report[section] = Object.fromEntries(runs);
  const rows = [
    '| shape | Sluice msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | Mosquitto msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | throughput ratio per round | CPU/delivery ratio per round |' +
      (withBase ? ' baseline µs/delivery (sys) | Sluice/baseline CPU per round |' : ''),
    '|---|---|---|---|---|---|---|---|---|---|---|' + (withBase ? '---|---|' : ''),
  ];
  for (const scenario of oneToOne) {
    const { sluice, mosquitto, baseline } = runs.get(key(scenario))!;
    rows.push(
      `| ${key(scenario)} | ${brokerCells(sluice)} | ${brokerCells(mosquitto)} | ` +
        `${ratioText(paired(sluice, mosquitto, 'msgPerSec'))} | ${ratioText(paired(sluice, mosquitto, 'cpuUsPerDelivery'))} |` +
        (withBase
          ? ` ${fmt(med(baseline, 'cpuUsPerDelivery'), 1)} (${fmt(med(baseline, 'sysUsPerDelivery'), 1)}) | ` +
            `${ratioText(paired(sluice, baseline, 'cpuUsPerDelivery'))} |`
          : ''),
    );
  }
  return rows;
}

console.log(
  `MQTT benchmark: ${messages} × 200 B per shape (1→16: ${Math.floor(messages / 16)} published), 100 in flight per ` +
    `publisher, ${repeat} round(s); sections ${[...sections].join(', ')}; sluice = \`sluice serve\` (security on)`,
);
if (quick)
  console.log(
    'QUICK=1 checks the harness: one short round is no figure (seen: twice the CPU per delivery of a full run)',
  );

try {
  if (sections.has('main')) {
    const brokers: BrokerKind[] = [
      'sluice',
      'mosquitto',
      ...(sections.has('engine') ? (['engine'] as const) : []),
      ...(baselineCheckout ? (['baseline'] as const) : []),
    ];
    const runs = await rounds('main', scenarios, brokers, (broker, scenario) => run(broker, scenario));
    report.main = Object.fromEntries(runs);
    const rows = [
      '| shape | Sluice msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | Mosquitto msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | throughput ratio per round | CPU/delivery ratio per round | delivered (fewest in any run: Sluice / Mosquitto / expected) |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ];
    for (const scenario of scenarios) {
      const { sluice, mosquitto } = runs.get(key(scenario))!;
      rows.push(
        `| ${key(scenario)} | ${brokerCells(sluice)} | ${brokerCells(mosquitto)} | ` +
          `${ratioText(paired(sluice, mosquitto, 'msgPerSec'))} | ${ratioText(paired(sluice, mosquitto, 'cpuUsPerDelivery'))} | ` +
          `${fmt(minDelivered(sluice))} / ${fmt(minDelivered(mosquitto))} / ${fmt(sluice[0]?.expected ?? NaN)} |`,
      );
    }
    const mosquittoRate = med(runs.get(key({ qos: 0, publishers: 1, subscribers: 1 }))?.mosquitto ?? [], 'msgPerSec');
    report.mosquittoQos0OneToOne = mosquittoRate;
    tables.push(`This machine's Mosquitto, QoS 0 1→1: **${fmt(mosquittoRate)} msg/s** (median)`);
    tables.push(`\`sluice serve\` vs Mosquitto, medians of ${repeat} round(s):\n\n${rows.join('\n')}`);
    if (sections.has('engine')) {
      const engineRows = [
        '| shape | engine-only msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | throughput ratio to Mosquitto |',
        '|---|---|---|---|---|---|',
      ];
      for (const scenario of scenarios) {
        const { engine, mosquitto } = runs.get(key(scenario))!;
        engineRows.push(
          `| ${key(scenario)} | ${brokerCells(engine)} | ${ratioText(paired(engine, mosquitto, 'msgPerSec'))} |`,
        );
      }
      tables.push(`Engine-only child (no security, HTTP or AMQP), same rounds:\n\n${engineRows.join('\n')}`);
    }
    if (baselineCheckout) {
      const baseRows = [
        '| shape | baseline msg/s | µs/delivery (sys) | p50 / p99 ms | peak RSS MB | Sluice/baseline throughput per round | Sluice/baseline CPU per delivery per round |',
        '|---|---|---|---|---|---|---|',
      ];
      for (const scenario of scenarios) {
        const { baseline, sluice } = runs.get(key(scenario))!;
        baseRows.push(
          `| ${key(scenario)} | ${brokerCells(baseline)} | ${ratioText(paired(sluice, baseline, 'msgPerSec'))} | ` +
            `${ratioText(paired(sluice, baseline, 'cpuUsPerDelivery'))} |`,
        );
      }
      tables.push(`Baseline \`sluice serve\` (${baselineCheckout}), same rounds:\n\n${baseRows.join('\n')}`);
    }
  }

  if (sections.has('steady') && oneToOne.length > 0) {
    const rows = await versusMosquitto('steady', { warmup: messages }, true);
    tables.push(
      `Past start-up (a warm-up of ${messages} messages before each measured round), medians of ${repeat} round(s):\n\n${rows.join('\n')}`,
    );
  }

  if (sections.has('ui') && oneToOne.length > 0) {
    if (!chromiumPath()) console.log('ui: skipped, Chromium not found (apt-get install chromium)');
    else {
      const labels = [
        'closed',
        'topics',
        'overview',
        ...(baselineCheckout ? (['baseline-closed', 'baseline-topics'] as const) : []),
      ] as const;
      const runs = await rounds('ui', oneToOne, labels, (label, scenario) => {
        const view = label.replace('baseline-', '') as 'closed' | UiView;
        return run(
          label.startsWith('baseline') ? 'baseline' : 'sluice',
          scenario,
          view === 'closed' ? {} : { ui: view },
        );
      });
      report.ui = Object.fromEntries(runs);
      const rows = [
        '| shape | UI | msg/s | µs/delivery | throughput vs closed per round | CPU/delivery vs closed per round | longest page task ms (worst run) | delivered (fewest / expected) |',
        '|---|---|---|---|---|---|---|---|',
      ];
      for (const scenario of oneToOne) {
        const byLabel = runs.get(key(scenario))!;
        for (const label of labels) {
          const list = byLabel[label];
          const closed = label.startsWith('baseline') ? byLabel['baseline-closed'] : byLabel.closed;
          const isClosed = label.endsWith('closed');
          const worstTask = isClosed ? NaN : Math.max(...list.map((r) => r.longestTaskMs ?? NaN));
          rows.push(
            `| ${key(scenario)} | ${label} | ${fmt(med(list, 'msgPerSec'))} | ${fmt(med(list, 'cpuUsPerDelivery'), 1)} | ` +
              `${isClosed ? '—' : ratioText(paired(list, closed, 'msgPerSec'))} | ` +
              `${isClosed ? '—' : ratioText(paired(list, closed, 'cpuUsPerDelivery'))} | ` +
              `${fmt(worstTask)} | ${fmt(minDelivered(list))} / ${fmt(list[0]?.expected ?? NaN)} |`,
          );
        }
      }
      tables.push(
        `\`sluice serve\` with the UI open (Chromium on the same machine), medians of ${repeat} round(s):\n\n${rows.join('\n')}`,
      );
    }
  }

  if (sections.has('pinned') && oneToOne.length > 0) {
    const rows = await versusMosquitto('pinned', { pinned: true }, false);
    tables.push(
      `Load generator pinned to CPU 0, broker to CPU 1 (taskset), medians of ${repeat} round(s):\n\n${rows.join('\n')}`,
    );
  }
} finally {
  await closeUiBrowser();
}

console.log(`\n${tables.join('\n\n')}\n`);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify({ ...report, finishedAt: new Date().toISOString() }, null, 2)}\n`);
console.log(`(every run: ${outFile})`);
