/**
 * Prometheus text exposition (format 0.0.4), written by hand — no client library needed for a
 * few gauges, counters and one histogram. Served at GET /metrics (docs/http.md).
 */
import { commitMsBucketBounds } from '../engine/engine.ts';
import type { Service } from './service.ts';

type Labels = Readonly<Record<string, string>>;

/** Collects families and renders them. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels: Labels = {}): this {
    const pairs = Object.entries(labels).map(([key, text]) => `${key}="${escapeLabel(text)}"`);
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** The broker's metrics now. */
export function renderMetrics(service: Service, startedAt: number): string {
  const { engine } = service;
  const out = new Exposition();
  const queues = engine.listQueues();

  const gauge = (name: string, help: string, value: (q: (typeof queues)[number]) => number) => {
    out.family(name, 'gauge', help);
    for (const queue of queues) out.sample(name, value(queue), { queue: queue.name });
  };
  gauge('sluice_queue_depth', 'Messages held by the queue (ready + in flight)', (q) => q.depth);
  gauge('sluice_queue_bytes', 'Bytes held by the queue', (q) => q.bytes);
  gauge('sluice_queue_in_flight', 'Messages delivered and not yet settled', (q) => q.inFlight);
  gauge('sluice_queue_consumers', 'Consumers attached', (q) => q.consumers);
  gauge(
    'sluice_queue_in_rate',
    'Messages enqueued per second (last 1 s sample)',
    (q) => service.queueRates(q.name).inPerSec,
  );
  gauge(
    'sluice_queue_out_rate',
    'Messages delivered per second (last 1 s sample)',
    (q) => service.queueRates(q.name).outPerSec,
  );
  gauge(
    'sluice_queue_dead_rate',
    'Messages dead-lettered per second (last 1 s sample)',
    (q) => service.queueRates(q.name).deadPerSec,
  );
  const counters = [
    ['enqueued', 'Messages enqueued'],
    ['delivered', 'Deliveries, redeliveries included'],
    ['acked', 'Messages acknowledged'],
    ['deadLettered', 'Messages dead-lettered'],
    ['discarded', 'Messages discarded (not DMQ-eligible, or drop-oldest)'],
    ['expired', 'Messages expired'],
  ] as const;
  for (const [key, help] of counters) {
    const name = `sluice_queue_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`;
    out.family(name, 'counter', `${help} since the queue was created`);
    for (const queue of queues) out.sample(name, queue.counters[key], { queue: queue.name });
  }

  out.family('sluice_dead_messages', 'gauge', 'Dead messages held, per DMQ and original queue');
  for (const row of engine.deadMessages.counts())
    out.sample('sluice_dead_messages', row.count, { dmq: row.dmq, queue: row.queue });

  out.family('sluice_connections', 'gauge', 'Open client connections per protocol');
  for (const [protocol, count] of service.connections.countByProtocol())
    out.sample('sluice_connections', count, { protocol });

  const logins = 'loginCounters' in service.policy ? service.policy.loginCounters : undefined;
  if (logins) {
    out
      .family('sluice_login_failures_total', 'counter', 'Failed logins (bad user name or password) since start')
      .sample('sluice_login_failures_total', logins.failed);
    out
      .family('sluice_login_throttled_total', 'counter', 'Logins made to wait by the brute-force slowdown since start')
      .sample('sluice_login_throttled_total', logins.throttled);
  }

  const c = engine.counters;
  out
    .family('sluice_messages_published_total', 'counter', 'Messages accepted since start')
    .sample('sluice_messages_published_total', c.published);
  out
    .family('sluice_publish_refused_total', 'counter', 'Publishes refused since start')
    .sample('sluice_publish_refused_total', c.publishRefused);
  out
    .family('sluice_deliveries_total', 'counter', 'Deliveries since start')
    .sample('sluice_deliveries_total', c.delivered);

  out.family('sluice_commit_duration_seconds', 'histogram', 'Group commit latency (transaction + fsync)');
  let cumulative = 0;
  commitMsBucketBounds.forEach((bound, index) => {
    cumulative += engine.commitMsBuckets[index] ?? 0;
    out.sample('sluice_commit_duration_seconds_bucket', cumulative, { le: String(bound / 1000) });
  });
  out.sample('sluice_commit_duration_seconds_bucket', c.commits, { le: '+Inf' });
  out.sample('sluice_commit_duration_seconds_sum', c.commitMsTotal / 1000);
  out.sample('sluice_commit_duration_seconds_count', c.commits);

  const storage = engine.storageInfo();
  out
    .family('sluice_database_bytes', 'gauge', 'Database file size (pages × page size, without the WAL)')
    .sample('sluice_database_bytes', storage.databaseBytes);
  out.family('sluice_log_bytes', 'gauge', 'Bytes in the replay log').sample('sluice_log_bytes', storage.logBytes);
  out
    .family('sluice_uptime_seconds', 'gauge', 'Seconds since the broker started')
    .sample('sluice_uptime_seconds', (Date.now() - startedAt) / 1000);
  return out.toString();
}

function escapeLabel(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
