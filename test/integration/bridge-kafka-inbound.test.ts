import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { Message } from 'rhea';
import { startBridges, type Bridges } from '../../core/bridges/index.ts';
import { silentLogger } from '../../core/log.ts';
import { startAmqp } from '../../core/protocols/amqp/index.ts';
import { startMqtt } from '../../core/protocols/mqtt/index.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as amqpConnect, openReceiver, text } from './amqp-helpers.ts';
import { connect as mqttConnect } from './mqtt-helpers.ts';
import { kafkaProduce, kafkaUnavailable, startKafkaMock, type KafkaMock } from './kafka-helpers.ts';

// Inbound Kafka bridge: a consumer group reads Kafka (librdkafka's mock cluster on loopback) and
// publishes into Sluice; an MQTT subscriber (MQTT.js) and an AMQP consumer (rhea) read it out.

const skip = kafkaUnavailable();

describe('Kafka bridge inbound', { skip }, () => {
  let kafka: KafkaMock;
  before(async () => {
    kafka = await startKafkaMock();
  });
  after(async () => {
    await kafka?.stop();
  });

  test('records produced to Kafka reach an MQTT subscriber and an AMQP consumer in order per key, offsets committed after Sluice commits', async (t) => {
    await kafka.createTopic('mes.commands', 2);
    const test = await openTestEngine();
    const amqp = await startAmqp(test.engine, { port: 0, allowAnonymous: true }, silentLogger());
    const mqtt = await startMqtt(test.engine, { tcp: { port: 0 }, ws: { enabled: false } }, silentLogger());
    const running: { bridges?: Bridges } = {};
    // One hook, in order: the bridge stops before the engine closes under it.
    t.after(async () => {
      await running.bridges?.close();
      await mqtt.close();
      await amqp.close();
      await test.cleanup();
    });
    await test.engine.createQueue('from-kafka', { subscriptions: ['kafka/#', 'cell/#'] });

    const subscriber = await mqttConnect(`mqtt://127.0.0.1:${mqtt.ports.tcp}`, {
      clientId: 'kafka-watch',
      protocolVersion: 5,
    });
    t.after(() => subscriber.end(true));
    const viaMqtt: Array<{ topic: string; payload: string; contentType?: string; props: object }> = [];
    subscriber.on('message', (topic, payload, packet) =>
      viaMqtt.push({
        topic,
        payload: payload.toString(),
        ...(packet.properties?.contentType !== undefined && { contentType: packet.properties.contentType }),
        props: packet.properties?.userProperties ?? {},
      }),
    );
    await subscriber.subscribeAsync(['kafka/#', 'cell/#'], { qos: 1 });

    const total = 300;
    const sent = new Map<string, string[]>();
    const records = Array.from({ length: total }, (_, i) => {
      const key = `order${i % 3}`;
      sent.set(key, [...(sent.get(key) ?? []), `r${i}`]);
      return {
        key,
        value: `r${i}`,
        headers: {
          'content-type': 'application/json',
          'correlation-id': `c${i}`,
          station: 'S1',
          ...(i === 0 && { 'sluice-topic': 'cell/7/command' }),
        },
      };
    });
    await kafkaProduce(kafka.bootstrap, 'mes.commands', records);

    const bridges = (running.bridges = await startBridges(
      test.engine,
      [
        {
          name: 'mes-in',
          direction: 'in',
          upstream: { protocol: 'kafka', brokers: [kafka.bootstrap], consumeTopics: ['mes.commands'] },
          in: { window: 16 },
          reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
        },
      ],
      silentLogger(),
      { dataDir: test.dir },
    ));
    await waitFor(() => viaMqtt.length >= total, {
      timeoutMs: 60_000,
      what: () => `${total} over MQTT (${viaMqtt.length})`,
    });
    assert.equal(bridges.statuses()[0]!.received, total);

    const perKey = new Map<string, string[]>();
    for (const message of viaMqtt) {
      const key = sent.get('order0')!.includes(message.payload)
        ? 'order0'
        : sent.get('order1')!.includes(message.payload)
          ? 'order1'
          : 'order2';
      perKey.set(key, [...(perKey.get(key) ?? []), message.payload]);
    }
    assert.deepEqual(perKey, sent, 'order kept per key, nothing lost, nothing twice');
    const first = viaMqtt.find((m) => m.payload === 'r0')!;
    assert.equal(first.topic, 'cell/7/command', 'the sluice-topic header names the Sluice topic');
    assert.equal(first.contentType, 'application/json');
    const second = viaMqtt.find((m) => m.payload === 'r1')!;
    assert.equal(second.topic, 'kafka/mes/commands', 'other records go to the localTopic template');
    assert.equal((second.props as Record<string, string>).station, 'S1');
    assert.equal((second.props as Record<string, string>)['kafka-topic'], 'mes.commands');

    const connection = await amqpConnect(amqp.ports.amqp!);
    t.after(() => closeConnection(connection));
    const { receiver, received, opened } = openReceiver(connection, 'queue://from-kafka');
    await opened;
    receiver.add_credit(total);
    await waitFor(() => received.length === total, {
      timeoutMs: 30_000,
      what: () => `${total} over AMQP (${received.length})`,
    });
    const amqpPayloads = received.map((r: { message: Message }) => text(r.message));
    assert.equal(new Set(amqpPayloads).size, total);
    assert.equal(received.find((r: { message: Message }) => text(r.message) === 'r5')!.message.correlation_id, 'c5');

    // Offsets: committed only after Sluice's commit, and every record is committed in the end.
    const admin = new Kafka({ brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await waitFor(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId: 'sluice-mes-in', topics: ['mes.commands'] });
        return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) === total;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'every offset committed' },
    );
  });
  test('a Kafka outage stops the consumer group with a clear status; once Kafka is back the records produced meanwhile arrive in order', async (t) => {
    await kafka.createTopic('mes.recipes', 1);
    const test = await openTestEngine();
    const running: { bridges?: Bridges } = {};
    t.after(async () => {
      await running.bridges?.close();
      await test.cleanup();
    });
    await test.engine.createQueue('recipes', { subscriptions: ['kafka/#'] });
    const bridges = (running.bridges = await startBridges(
      test.engine,
      [
        {
          name: 'recipes-in',
          direction: 'in',
          upstream: { protocol: 'kafka', brokers: [kafka.bootstrap], consumeTopics: ['mes.recipes'] },
          reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
        },
      ],
      silentLogger(),
      { dataDir: test.dir },
    ));
    const status = () => bridges.statuses()[0]!;
    await kafkaProduce(
      kafka.bootstrap,
      'mes.recipes',
      Array.from({ length: 50 }, (_, i) => ({ key: 'r', value: `a${i}` })),
    );
    await waitFor(() => status().received === 50, {
      timeoutMs: 30_000,
      what: () => `50 received (${status().received})`,
    });

    await kafka.down();
    await waitFor(() => !status().connected, { timeoutMs: 30_000, what: 'the bridge sees the outage' });
    assert.ok(status().lastError !== null);
    await kafka.up();
    await kafkaProduce(
      kafka.bootstrap,
      'mes.recipes',
      Array.from({ length: 50 }, (_, i) => ({ key: 'r', value: `b${i}` })),
    );
    await waitFor(() => test.engine.getQueue('recipes').depth >= 100, {
      timeoutMs: 60_000,
      what: () => `100 in the queue (${test.engine.getQueue('recipes').depth})`,
    });
    const payloads: string[] = [];
    for (let afterEntryId = 0; ;) {
      const page = test.engine.browseQueue('recipes', { afterEntryId, limit: 1000 });
      if (page.length === 0) break;
      payloads.push(...page.map((m) => m.message.payload.toString()));
      afterEntryId = page[page.length - 1]!.entryId;
    }
    const firsts = payloads.filter((p, i) => payloads.indexOf(p) === i);
    const expected = [
      ...Array.from({ length: 50 }, (_, i) => `a${i}`),
      ...Array.from({ length: 50 }, (_, i) => `b${i}`),
    ];
    assert.deepEqual(firsts, expected, 'nothing lost, in order');
    assert.ok(status().connects >= 2, 'reconnected');
  });
});
