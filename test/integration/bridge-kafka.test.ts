import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alarmsFor } from '../../core/schema/bridge-status.ts';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { withBridges } from './bridge-helpers.ts';
import { kafkaCollect, kafkaUnavailable, orderedPerKey, startKafkaMock, type KafkaMock } from './kafka-helpers.ts';

// Outbound Kafka bridge against a real Kafka-protocol broker on loopback: librdkafka's mock
// cluster (test/helpers/kafka-mock-cluster.py). Read back with kafkajs in its own consumer group.

const skip = kafkaUnavailable();
const fast = { reconnect: { initialDelayMs: 50, maxDelayMs: 500 } };

describe('Kafka bridge outbound', { skip }, () => {
  let kafka: KafkaMock;
  before(async () => {
    kafka = await startKafkaMock();
  });
  after(async () => {
    await kafka?.stop();
  });

  const upstream = (extra: object = {}) => ({
    protocol: 'kafka' as const,
    brokers: [kafka.bootstrap],
    topics: [
      { filter: 'plant/+/+/workorder', kafkaTopic: 'plant.{2}.workorders', key: { from: 'level' as const, level: 3 } },
    ],
    ...extra,
  });

  test('messages published while Kafka is down arrive in order per key once it is back, each acknowledged before it leaves the backlog', async (t) => {
    await kafka.createTopic('plant.p1.workorders', 3);
    await kafka.down();
    const sluice = await withBridges(t, [
      {
        name: 'analytics',
        upstream: upstream(),
        out: { topics: [{ filter: 'plant/#' }], window: 16 },
        ...fast,
      },
    ]);
    const sent = new Map<string, string[]>();
    for (let i = 0; i < 600; i++) {
      const line = `line${i % 4}`;
      sent.set(line, [...(sent.get(line) ?? []), `w${i}`]);
      await sluice.engine.publish({
        topic: `plant/p1/${line}/workorder`,
        payload: `w${i}`,
        contentType: 'text/plain',
        correlationId: `c${i}`,
        headers: { shift: 'night' },
      });
    }
    const during = sluice.status('analytics');
    assert.equal(during.backlog, 600, 'the backlog is kept on disk while Kafka is away');
    assert.equal(during.connected, false);
    assert.equal(during.forwarded, 0);
    await waitFor(() => sluice.status('analytics').lastError !== null, { what: 'the outage is reported' });

    await kafka.up();
    await waitFor(() => sluice.status('analytics').backlog === 0, { timeoutMs: 60_000, what: 'backlog forwarded' });
    assert.equal(sluice.status('analytics').forwarded, 600);

    const reader = await kafkaCollect(kafka.bootstrap, ['plant.p1.workorders']);
    t.after(reader.stop);
    await waitFor(() => new Set(reader.records.map((r) => r.value)).size === 600, {
      timeoutMs: 30_000,
      what: () => `600 records in Kafka (${reader.records.length})`,
    });
    const repeats = orderedPerKey(reader.records, sent);
    assert.ok(repeats <= sluice.status('analytics').resent, `${repeats} repeats`);
    const first = reader.records.find((r) => r.value === 'w0')!;
    assert.equal(first.key, 'line0', 'the key is the configured topic level');
    assert.equal(first.headers['sluice-topic'], 'plant/p1/line0/workorder');
    assert.equal(first.headers['content-type'], 'text/plain');
    assert.equal(first.headers['correlation-id'], 'c0');
    assert.equal(first.headers.shift, 'night');
    assert.equal(first.headers['sluice-origin'], sluice.bridges.brokerId);
    const partitions = new Set(reader.records.map((r) => r.partition));
    assert.ok(partitions.size > 1, 'keys spread over partitions, order is per key');
    await sluice.close();
  });

  test('a Kafka outage in the middle of forwarding loses nothing and keeps order per key', async (t) => {
    await kafka.createTopic('plant.p2.workorders', 2);
    const sluice = await withBridges(t, [
      {
        name: 'midstream',
        upstream: upstream(),
        out: { topics: [{ filter: 'plant/p2/#' }], window: 32 },
        rateLimit: { messagesPerSecond: 100, burst: 10 },
        ...fast,
      },
    ]);
    await waitFor(() => sluice.status('midstream').connected, { timeoutMs: 15_000, what: 'bridge connected' });
    const sent = new Map<string, string[]>();
    for (let i = 0; i < 400; i++) {
      const line = `l${i % 3}`;
      sent.set(line, [...(sent.get(line) ?? []), `m${i}`]);
      await sluice.engine.publish({ topic: `plant/p2/${line}/workorder`, payload: `m${i}` });
    }
    await waitFor(() => sluice.status('midstream').forwarded >= 50, { timeoutMs: 20_000, what: '50 forwarded' });
    await kafka.down();
    await waitFor(() => !sluice.status('midstream').connected, { timeoutMs: 20_000, what: 'bridge sees the outage' });
    const heldBack = sluice.status('midstream').backlog;
    await kafka.up();
    await waitFor(() => sluice.status('midstream').backlog === 0, { timeoutMs: 60_000, what: 'backlog forwarded' });
    const reader = await kafkaCollect(kafka.bootstrap, ['plant.p2.workorders']);
    t.after(reader.stop);
    await waitFor(() => new Set(reader.records.map((r) => r.value)).size === 400, {
      timeoutMs: 30_000,
      what: () => `400 records in Kafka (${reader.records.length})`,
    });
    const repeats = orderedPerKey(reader.records, sent);
    console.warn(`Kafka mid-stream outage: ${heldBack} held back, ${repeats} repeats`);
    assert.ok(heldBack > 10, `the outage caught part of the stream (${heldBack})`);
    await sluice.close();
  });

  test('an unreachable cluster is a waiting status with the reason, retried with backoff, and the backlog still fills', async (t) => {
    const port = await freePort();
    const sluice = await withBridges(t, [
      {
        name: 'nowhere',
        upstream: { ...upstream(), brokers: [`127.0.0.1:${port}`] },
        out: { topics: [{ filter: 'plant/#' }] },
        reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      },
    ]);
    await waitFor(() => sluice.status('nowhere').connectFailures >= 2, { timeoutMs: 30_000, what: 'two attempts' });
    await sluice.engine.publish({ topic: 'plant/p9/l1/workorder', payload: 'x' });
    const status = sluice.status('nowhere');
    assert.ok(['waiting', 'connecting'].includes(status.state), status.state);
    assert.match(status.lastError!.message, /ECONNREFUSED|connect/i);
    assert.equal(status.lastError!.kind, 'network');
    assert.equal(status.backlog, 1);
    assert.equal(status.upstream, `kafka://127.0.0.1:${port}`);
    assert.deepEqual(alarmsFor(status, Date.now() + 60_000), ['disconnected'], 'alarm after the alarm delay');
    await sluice.close();
  });

  test('an unknown Kafka topic is an upstream-error status and alarm, not a crash loop', async (t) => {
    await kafka.topicError('plant.gone.workorders', 3);
    const sluice = await withBridges(t, [
      {
        name: 'gone',
        upstream: upstream({ topics: [{ filter: 'gone/#', kafkaTopic: 'plant.gone.workorders' }] }),
        out: { topics: [{ filter: 'gone/#' }] },
        reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
      },
    ]);
    await sluice.engine.publish({ topic: 'gone/a', payload: 'kept' });
    await waitFor(() => sluice.status('gone').alarms.includes('upstream-error'), {
      timeoutMs: 30_000,
      what: () => `upstream-error alarm (${JSON.stringify(sluice.status('gone').lastError)})`,
    });
    const status = sluice.status('gone');
    assert.match(status.lastError!.message, /topic/i);
    assert.equal(status.backlog, 1, 'the message stays in the backlog');
    assert.ok(status.connectFailures < 30, `${status.connectFailures} attempts: backed off`);
    await sluice.close();
  });
  test('SASL asked of a listener without SASL (the mock cluster) is an upstream-error status naming it, not a crash loop', async (t) => {
    const sluice = await withBridges(t, [
      {
        name: 'sasl',
        upstream: upstream({ sasl: 'scram-sha-256' }),
        credentials: { username: 'line1', password: 'secret' },
        out: { topics: [{ filter: 'plant/#' }] },
        reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
      },
    ]);
    await waitFor(() => sluice.status('sasl').alarms.includes('upstream-error'), {
      timeoutMs: 30_000,
      what: () => `upstream-error alarm (${JSON.stringify(sluice.status('sasl').lastError)})`,
    });
    assert.match(sluice.status('sasl').lastError!.message, /SASL/);
    assert.equal(sluice.status('sasl').connected, false);
    await sluice.close();
  });
});
