// Demo scenario 7 (resources/scenarios/7-kafka-analytics-outage.json) against a whole broker
// whose config has the analytics-kafka bridge pointed at librdkafka's mock cluster. The test plays
// the trainer: it takes Kafka down when the scenario waits for the outage and brings it back when
// the scenario waits for the drain, then reads Kafka to check nothing was lost and order held.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { kafkaCollect, kafkaUnavailable, startKafkaMock, type KafkaMock } from './kafka-helpers.ts';

const skip = kafkaUnavailable();

describe('demo scenario: Kafka analytics cluster goes away', { skip }, () => {
  let kafka: KafkaMock;
  before(async () => {
    kafka = await startKafkaMock();
  });
  after(async () => {
    await kafka?.stop();
  });

  test('every work-order event reaches Kafka in order across the outage, and the run passes', async (t) => {
    await kafka.createTopic('plant.line1.workorders', 2);
    const { broker, cleanup } = await startTestBroker({
      // Its PLC logs in as the run's generated demo user: no anonymous access.
      security: { anonymous: false },
      bridges: [
        {
          name: 'analytics-kafka',
          upstream: {
            protocol: 'kafka',
            brokers: [kafka.bootstrap],
            topics: [
              {
                filter: 'demo/kafka-analytics/#',
                kafkaTopic: 'plant.{3}.workorders',
                key: { from: 'level', level: 3 },
              },
            ],
          },
          out: { topics: [{ filter: 'demo/kafka-analytics/#' }] },
          reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
        },
      ],
    });
    t.after(cleanup);

    const started = await broker.service.call('demo.start', { name: 'kafka-analytics', speed: 20_000 });
    assert.equal(started.state, 'running');
    const stepState = async (index: number) => (await broker.service.call('demo.status', {})).steps[index]?.state;
    await waitFor(async () => (await stepState(3)) === 'running', { timeoutMs: 60_000, what: 'the outage step' });
    await kafka.down();
    await waitFor(async () => (await stepState(6)) === 'running', { timeoutMs: 60_000, what: 'the drain step' });
    await kafka.up();
    const status = await broker.service.demo.settled();
    const failures = status.checks.filter((c) => !c.pass).map((c) => `${c.label}: ${c.expected} / ${c.actual}`);
    assert.equal(status.state, 'passed', `${status.error ?? ''} ${failures.join('; ')}`);

    const reader = await kafkaCollect(kafka.bootstrap, ['plant.line1.workorders']);
    t.after(reader.stop);
    const seqs = () =>
      reader.records
        .map((r) => JSON.parse(r.value) as { seq: number; run: string })
        .filter((p) => p.run === status.runId)
        .map((p) => p.seq);
    await waitFor(() => new Set(seqs()).size === 60, {
      timeoutMs: 20_000,
      what: () => `60 events in Kafka (${seqs().length})`,
    });
    const firsts = seqs().filter((seq, i, all) => all.indexOf(seq) === i);
    assert.deepEqual(
      firsts,
      Array.from({ length: 60 }, (_, i) => i + 1),
      'one key, one partition: publish order',
    );
    assert.equal(reader.records[0]!.key, 'line1');
  });
});
