/**
 * One soak run (issue: reliability over hours): `sluice serve` in a child process under a mixed
 * plant workload, with faults on a schedule — kill -9 of the broker, an upstream outage for the
 * bridge, a consumer that stalls, a full disk — then an account of every acknowledged message and
 * the series a report charts. bench/soak.ts is the command; test/crash/soak.test.ts a short run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../../test/helpers/process.ts';
import { ensureRendererBuild } from '../../test/e2e/ui-harness.ts';
import { startMosquitto, type Mosquitto } from '../../test/integration/bridge-helpers.ts';
import { SoakBroker } from './broker-process.ts';
import { directoryBytes, faultSchedule, fillDisk, mountTmpfs } from './faults.ts';
import { deadIdsOf, drain, queuedIds } from './inspect.ts';
import { Ledger, type Point } from './ledger.ts';
import { endOfLives, latencyWindows, settled, slopePerHour, throughputWindows } from './series.ts';
import { openUiPage, type UiPage } from './ui-page.ts';
import {
  amqpConsumer,
  amqpPublisher,
  apiClient,
  httpConsumer,
  httpPublisher,
  mqttPublisher,
  mqttSubscriber,
  sseSubscriber,
  type Client,
} from './workload.ts';

export interface SoakOptions {
  readonly minutes: number;
  /** Messages per second per publisher (six publishers). */
  readonly perSecond: number;
  /** Where the data directory lives (a tmpfs is mounted there when possible, for the disk-full episode). */
  readonly workDir: string;
  /** Open the UI in Chromium during the run. */
  readonly ui: boolean;
  /** Run the bridge to a local Mosquitto, with its outage. */
  readonly bridge: boolean;
  /** Which faults to inject (default: all). */
  readonly faults?: ReadonlySet<Fault['kind']>;
  readonly log: (line: string) => void;
}

/** A fault on the time axis. */
export interface Fault {
  readonly at: number;
  readonly kind: 'kill-9' | 'bridge-outage' | 'consumer-stall' | 'disk-full' | 'replay';
  readonly detail: string;
  endAt?: number;
}

/** One sink's account: every acknowledged message it owes, and where each one is. */
export interface SinkAccount {
  readonly sink: string;
  readonly owed: number;
  readonly consumed: number;
  readonly queued: number;
  readonly dead: number;
  readonly lost: number;
  readonly lostIds: readonly string[];
  readonly duplicates: number;
}

export interface SoakResult {
  readonly minutes: number;
  readonly startedAt: string;
  readonly acked: Readonly<Record<string, number>>;
  readonly refusedPublishes: number;
  readonly accounts: readonly SinkAccount[];
  readonly restartsMs: readonly number[];
  /** Starts after a kill that exited instead of serving (then tried again), with what the broker said. */
  readonly refusedStarts: readonly string[];
  readonly faults: readonly Fault[];
  readonly skippedFaults: readonly string[];
  readonly series: {
    readonly rssMb: readonly Point[];
    readonly fds: readonly Point[];
    readonly backlog: Readonly<Record<string, Point[]>>;
    readonly dead: readonly Point[];
    readonly diskMb: readonly Point[];
    readonly latencyMs: Readonly<Record<string, { p50: Point[]; p99: Point[] }>>;
    readonly throughput: Readonly<Record<string, Point[]>>;
  };
  readonly rssSlopeMbPerHour: number;
  /** RSS at the end of each broker life, and their trend: the leak signal across restarts. */
  readonly rssEndOfLifeMb: readonly number[];
  readonly rssEndOfLifeSlopeMbPerHour: number;
  readonly fdsSlopePerHour: number;
  readonly retentionMaxLogMb: number;
  readonly ui: {
    readonly opened: boolean;
    readonly longestTaskMs: number | null;
    readonly pageErrors: number;
    readonly note: string;
  };
}

const retentionMaxLogBytes = 64 * 1024 * 1024;

/** Undoes what a run set up, newest first, when it fails part way (nothing left running or mounted). */
type Cleanup = () => unknown;

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const cleanups: Cleanup[] = [];
  try {
    return await soak(options, cleanups);
  } catch (error) {
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => {});
    throw error;
  }
}

async function soak(options: SoakOptions, cleanups: Cleanup[]): Promise<SoakResult> {
  const durationMs = options.minutes * 60_000;
  const dataDir = join(options.workDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const skippedFaults: string[] = [];
  const tmpfs = mountTmpfs(dataDir, 1024);
  if (!tmpfs.mounted) skippedFaults.push(`disk-full: ${tmpfs.reason}`);
  cleanups.push(() => tmpfs.unmount());

  // The broker serves the UI only if it is built when it starts (a fresh clone has no out/renderer).
  if (options.ui) ensureRendererBuild();
  const mosquitto: Mosquitto | undefined = options.bridge ? await startMosquitto() : undefined;
  if (!mosquitto) skippedFaults.push('bridge-outage: no bridge in this run');
  else cleanups.push(() => mosquitto.cleanup());
  const [http, mqtt, ws, amqp] = (await freePorts(4)) as [number, number, number, number];
  const ports = { http, mqtt, ws, amqp };
  const configFile = join(options.workDir, 'sluice.json');
  writeFileSync(configFile, JSON.stringify(soakConfig(mosquitto), null, 2));
  const broker = new SoakBroker(dataDir, configFile, ports);
  cleanups.push(() => broker.kill9());
  const restartsMs: number[] = [await broker.start()];
  const refusedStarts: string[] = [];
  const credentials = broker.adminCredentials();
  const mqttUrl = `mqtt://127.0.0.1:${ports.mqtt}`;
  // HTTP clients log in once and use the bearer token, as the UI and CLI do: Basic credentials
  // cost a password hash (scrypt) per request. Tokens are stored, so they outlive a kill -9.
  const { token } = await apiClient(broker.httpUrl, credentials).call('auth.login', {
    user: credentials.username,
    password: credentials.password,
  });
  const api = apiClient(broker.httpUrl, { token });

  // The UI opens first: the clock (and the fault schedule) starts with the workload.
  let uiNote = options.ui ? 'Chromium not available' : 'not requested';
  const ui: UiPage | undefined = options.ui
    ? await openUiPage(broker.httpUrl, credentials).catch((error: Error) => {
        uiNote = `UI page not opened: ${error.message.split('\n')[0]}`;
        options.log(uiNote);
        return undefined;
      })
    : undefined;
  if (ui) cleanups.push(() => ui.finish());
  const ledger = new Ledger(Date.now());
  const faults: Fault[] = [];
  const fault = (kind: Fault['kind'], detail: string): Fault => {
    const entry: Fault = { at: ledger.now(), kind, detail };
    faults.push(entry);
    options.log(`[${(entry.at / 1000).toFixed(0)} s] ${kind}: ${detail}`);
    return entry;
  };

  // Consumers first, so every sink is attached before the first publish.
  const sinks = {
    mqtt: ledger.sink('$queue consumer (MQTT)', 'soak/#', 'soak-mqtt'),
    amqp: ledger.sink('queue consumer (AMQP, rejects 1 in 20)', 'soak/#', 'soak-amqp'),
    http: ledger.sink('pull consumer (HTTP, stalls)', 'soak/#', 'soak-http'),
    session: ledger.sink('persistent session (MQTT 3.1.1)', 'soak/mqtt5/#', 'mqtt/soak-session'),
    ttl: ledger.sink('TTL queue (no consumer: all expire)', 'soak/http/#', 'soak-ttl'),
    ...(mosquitto && { bridge: ledger.sink('bridge to Mosquitto', 'soak/mqtt311/#', 'bridge/mosquitto') }),
  };
  const httpPull = httpConsumer(ledger, sinks.http, { client: api, queue: 'soak-http' });
  const amqpIn = amqpConsumer(ledger, sinks.amqp, {
    port: ports.amqp,
    credentials,
    queue: 'soak-amqp',
    rejectEvery: 20,
  });
  const consumers: Client[] = [
    mqttSubscriber(ledger, sinks.mqtt, {
      name: 'queue-consumer',
      url: mqttUrl,
      credentials,
      version: 5,
      clean: true,
      filter: '$queue/soak-mqtt',
    }),
    mqttSubscriber(ledger, sinks.session, {
      name: 'session',
      url: mqttUrl,
      credentials,
      version: 4,
      clean: false,
      filter: 'soak/mqtt5/#',
    }),
    amqpIn,
    httpPull,
    sseSubscriber(ledger, { client: api, filter: 'soak/amqp/#' }),
  ];
  const observer = mosquitto
    ? mqttSubscriber(ledger, sinks.bridge!, {
        name: 'observer',
        url: mosquitto.url,
        credentials: { username: '', password: '' },
        version: 4,
        clean: false,
        filter: 'soak/mqtt311/#',
      })
    : undefined;
  cleanups.push(() => Promise.all([...consumers, ...(observer ? [observer] : [])].map((consumer) => consumer.close())));
  await sleep(1000);

  const rate = options.perSecond;
  const publishers: Client[] = [
    mqttPublisher(ledger, {
      name: 'mqtt311-q1',
      url: mqttUrl,
      credentials,
      version: 4,
      qos: 1,
      clean: false,
      topic: 'soak/mqtt311/line1',
      perSecond: rate,
    }),
    mqttPublisher(ledger, {
      name: 'mqtt5-q2',
      url: mqttUrl,
      credentials,
      version: 5,
      qos: 2,
      clean: true,
      topic: 'soak/mqtt5/line2',
      perSecond: rate,
    }),
    mqttPublisher(ledger, {
      name: 'mqtt5-q1',
      url: mqttUrl,
      credentials,
      version: 5,
      qos: 1,
      clean: false,
      topic: 'soak/mqtt5/line2b',
      perSecond: rate,
    }),
    mqttPublisher(ledger, {
      name: 'mqtt5-q0',
      url: mqttUrl,
      credentials,
      version: 5,
      qos: 0,
      clean: true,
      topic: 'soak/mqtt5/telemetry',
      perSecond: rate,
    }),
    amqpPublisher(ledger, { name: 'amqp', port: ports.amqp, credentials, topic: 'soak/amqp/line3', perSecond: rate }),
    httpPublisher(ledger, { name: 'http', client: api, topic: 'soak/http/line4', perSecond: rate }),
  ];
  cleanups.push(() => Promise.all(publishers.map((publisher) => publisher.close())));

  // Series, sampled every second or two.
  const rss: Point[] = [];
  const fds: Point[] = [];
  const backlog: Record<string, Point[]> = {};
  const dead: Point[] = [];
  const diskMb: Point[] = [];
  const sampleMs = durationMs > 10 * 60_000 ? 2000 : 1000;
  const sampler = setInterval(() => {
    const at = ledger.now();
    const proc = broker.sample();
    if (proc) {
      rss.push({ at, value: proc.rssBytes / 1e6 });
      fds.push({ at, value: proc.fds });
    }
    diskMb.push({ at, value: directoryBytes(dataDir) / 1e6 });
    api.call('stats.get', {}).then(
      (stats) => {
        for (const queue of stats.queues)
          if (queue.name.startsWith('soak') || queue.name.startsWith('bridge/') || queue.name.startsWith('mqtt/soak'))
            (backlog[queue.name] ??= []).push({ at, value: queue.depth });
        dead.push({ at, value: stats.dead.total });
      },
      () => {},
    );
  }, sampleMs);
  cleanups.push(() => clearInterval(sampler));

  // The fault schedule.
  const lastLives: number[] = [0];
  const schedule = faultSchedule(durationMs).filter((item) => !options.faults || options.faults.has(item.kind));
  const runUntil = Date.now() + durationMs;
  let next = 0;
  while (Date.now() < runUntil) {
    const at = ledger.now();
    const due = schedule.filter((item) => item.at <= at && !item.done);
    for (const item of due) {
      item.done = true;
      if (item.kind === 'kill-9') {
        fault('kill-9', `broker pid ${broker.pid}`);
        await broker.kill9();
        const readyMs = await restartUntilServing(broker, refusedStarts, options.log);
        restartsMs.push(readyMs);
        lastLives.push(ledger.now());
        options.log(`  restarted, serving after ${readyMs.toFixed(0)} ms`);
      } else if (item.kind === 'consumer-stall') {
        fault('consumer-stall', `HTTP pull consumer stops for ${(item.lengthMs / 1000).toFixed(0)} s`).endAt =
          at + item.lengthMs;
        httpPull.stall(item.lengthMs);
      } else if (item.kind === 'bridge-outage' && mosquitto) {
        const entry = fault('bridge-outage', `Mosquitto stopped for ${(item.lengthMs / 1000).toFixed(0)} s`);
        await mosquitto.stop();
        setTimeout(() => void mosquitto.start().then(() => (entry.endAt = ledger.now())), item.lengthMs);
      } else if (item.kind === 'disk-full' && tmpfs.mounted) {
        const entry = fault(
          'disk-full',
          `data directory's filesystem filled for ${(item.lengthMs / 1000).toFixed(0)} s`,
        );
        const ballast = fillDisk(dataDir);
        setTimeout(() => {
          rmSync(ballast, { force: true });
          entry.endAt = ledger.now();
        }, item.lengthMs);
      } else if (item.kind === 'replay') {
        const from = Date.now() - 20_000;
        api
          .call('replay.start', {
            target: { queue: `soak-replay-${next++}`, create: {} },
            start: { kind: 'timestamp', at: from },
            topicFilter: 'soak/amqp/#',
          })
          .then(
            (replay) =>
              fault(
                'replay',
                `replay ${replay.id} from ${new Date(from).toISOString()} into ${replay.spec.target.queue}`,
              ),
            (error: Error) => fault('replay', `refused: ${error.message}`),
          );
      }
    }
    await sleep(250);
  }

  // A broker that ended by itself (not one of the kills, each followed by a restart) is a failure
  // of its own: say how it ended and what it printed, instead of an unreachable broker later.
  const stillServing = (stage: string): void => {
    const ended = broker.exited();
    if (ended)
      throw new Error(
        `the broker stopped on its own (${ended}) ${stage}; it printed:\n${broker.printed().slice(-4000)}`,
      );
  };
  stillServing('during the run');

  // Wind down: publishers stop, the stalled consumer resumes, the queues drain.
  options.log('publishers stopping; waiting for the consumers to drain');
  await Promise.all(publishers.map((publisher) => publisher.close()));
  httpPull.stall(0);
  await drain(
    api,
    Object.values(sinks)
      .filter((sink) => sink !== sinks.ttl)
      .map((sink) => sink.queue),
    120_000,
  );
  await sleep(6000); // the TTL queue's last messages expire (5 s TTL)
  clearInterval(sampler);
  stillServing('while the queues drained');

  const accounts: SinkAccount[] = [];
  for (const sink of Object.values(sinks)) {
    const owed = ledger.owed(sink);
    const queued = await queuedIds(api, sink.queue);
    const deadIds = await deadIdsOf(api, sink.queue);
    const lostIds = owed.filter((id) => !sink.received.has(id) && !queued.has(id) && !deadIds.has(id));
    let duplicates = 0;
    for (const copies of sink.received.values()) duplicates += copies - 1;
    accounts.push({
      sink: sink.name,
      owed: owed.length,
      consumed: owed.filter((id) => sink.received.has(id)).length,
      queued: owed.filter((id) => queued.has(id)).length,
      dead: owed.filter((id) => deadIds.has(id)).length,
      lost: lostIds.length,
      lostIds: lostIds.slice(0, 20),
      duplicates,
    });
  }
  const uiResult = ui
    ? await ui.finish()
    : {
        opened: false,
        longestTaskMs: null,
        pageErrors: 0,
        note: uiNote,
      };

  await Promise.all([...consumers, ...(observer ? [observer] : [])].map((consumer) => consumer.close()));
  await broker.stop();
  await mosquitto?.cleanup();
  tmpfs.unmount();

  const acked: Record<string, number> = {};
  for (const message of ledger.acked.values()) acked[message.protocol] = (acked[message.protocol] ?? 0) + 1;
  return {
    minutes: options.minutes,
    startedAt: new Date(ledger.startedAt).toISOString(),
    acked,
    refusedPublishes: ledger.refused,
    accounts,
    restartsMs,
    refusedStarts,
    faults,
    skippedFaults,
    series: {
      rssMb: rss,
      fds,
      backlog,
      dead,
      diskMb,
      latencyMs: latencyWindows(ledger.latency, durationMs > 10 * 60_000 ? 30_000 : 10_000),
      throughput: throughputWindows(ledger.ackTimes, durationMs > 10 * 60_000 ? 30_000 : 10_000),
    },
    rssSlopeMbPerHour: slopePerHour(settled(rss, lastLives)),
    fdsSlopePerHour: slopePerHour(settled(fds, lastLives)),
    rssEndOfLifeMb: endOfLives(rss, lastLives).map((point) => Math.round(point.value * 10) / 10),
    rssEndOfLifeSlopeMbPerHour: slopePerHour(endOfLives(rss, lastLives)),
    retentionMaxLogMb: retentionMaxLogBytes / 1e6,
    ui: uiResult,
  };
}

/**
 * Starts the broker again after a kill, retrying while it exits instead of serving (a kill during
 * the full-disk episode can leave it unable to start until space returns); ms until it served.
 */
async function restartUntilServing(
  broker: SoakBroker,
  refused: string[],
  log: (line: string) => void,
): Promise<number> {
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await broker.start();
      return performance.now() - started;
    } catch (error) {
      const said = (error as Error).message.split('\n').slice(0, 4).join(' | ');
      refused.push(said);
      log(`  start ${attempt} refused: ${said}`);
      if (performance.now() - started > 180_000) throw error;
      await sleep(1000);
    }
  }
}

/** The broker's config: the soak's queues, short retention, and the bridge. */
function soakConfig(mosquitto: Mosquitto | undefined) {
  return {
    retention: { maxLogBytes: retentionMaxLogBytes, intervalMs: 5000 },
    queues: [
      { name: 'soak-mqtt', subscriptions: ['soak/#'] },
      { name: 'soak-amqp', subscriptions: ['soak/#'] },
      { name: 'soak-http', subscriptions: ['soak/#'] },
      { name: 'soak-ttl', subscriptions: ['soak/http/#'], defaultTtlMs: 5000 },
    ],
    bridges: mosquitto
      ? [
          {
            name: 'mosquitto',
            upstream: { protocol: 'mqtt', url: mosquitto.url, protocolVersion: 4 },
            direction: 'out',
            out: { topics: [{ filter: 'soak/mqtt311/#' }] },
            reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
          },
        ]
      : [],
  };
}
