import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../core/log.ts';
import { startAmqp } from '../../core/protocols/amqp/index.ts';
import { startMqtt } from '../../core/protocols/mqtt/index.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect, openReceiver, openSender, send, sendable, text } from './amqp-helpers.ts';
import { collect, connect as mqttConnect } from './mqtt-helpers.ts';

async function openBothDoors() {
  const test = await openTestEngine();
  const amqp = await startAmqp(test.engine, { port: 0, allowAnonymous: true }, silentLogger());
  const mqtt = await startMqtt(test.engine, { tcp: { port: 0 }, ws: { enabled: false } }, silentLogger());
  return {
    engine: test.engine,
    amqpPort: amqp.ports.amqp!,
    mqttUrl: `mqtt://127.0.0.1:${mqtt.ports.tcp}`,
    async close() {
      await mqtt.close();
      await amqp.close();
      await test.cleanup();
    },
  };
}

describe('cross-protocol', () => {
  test('an MQTT publish is consumed over AMQP with its topic and MQTT QoS header', async () => {
    const broker = await openBothDoors();
    await broker.engine.createQueue('telemetry', { subscriptions: ['plant/+/temp'] });
    const pub = await mqttConnect(broker.mqttUrl, { clientId: 'x-pub' });
    await pub.publishAsync('plant/l1/temp', '21.5', { qos: 1 });
    const connection = await connect(broker.amqpPort);
    const { receiver, received, opened } = openReceiver(connection, 'queue://telemetry');
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1, { what: 'MQTT message over AMQP' });
    const m = received[0]!.message;
    assert.equal(text(m), '21.5');
    assert.equal(m.to, 'topic://plant/l1/temp');
    assert.equal(m.application_properties!['mqtt-qos'], '1');
    received[0]!.delivery.accept();
    await waitFor(() => broker.engine.getQueue('telemetry').depth === 0);
    await pub.endAsync();
    await closeConnection(connection);
    await broker.close();
  });

  test('an AMQP publish reaches an MQTT subscriber, and its headers are kept for every protocol', async () => {
    const broker = await openBothDoors();
    await broker.engine.createQueue('audit', { subscriptions: ['cmd/#'] });
    const sub = await mqttConnect(broker.mqttUrl, { clientId: 'x-sub' });
    const got = collect(sub);
    await sub.subscribeAsync('cmd/#', { qos: 1 });
    const connection = await connect(broker.amqpPort);
    const sender = await openSender(connection, 'topic://cmd/valve/7');
    await sendable(sender);
    const outcome = await send(sender, {
      body: Buffer.from('open') as never,
      content_type: 'text/plain',
      correlation_id: 'req-1',
      reply_to: 'topic://cmd/replies',
      application_properties: { operator: 'kim' },
    });
    assert.deepEqual(outcome, { state: 'accepted' });
    await waitFor(() => got.length === 1, { what: 'AMQP message over MQTT' });
    assert.deepEqual(got[0], { topic: 'cmd/valve/7', payload: 'open', qos: 1, dup: false, retain: false });
    // MQTT 3.1.1 cannot carry properties; the engine keeps them for AMQP and HTTP consumers.
    const kept = broker.engine.browseQueue('audit')[0]!.message;
    assert.equal(kept.contentType, 'text/plain');
    assert.equal(kept.correlationId, 'req-1');
    assert.equal(kept.replyTo, 'topic://cmd/replies');
    assert.equal(kept.headers['operator'], 'kim');
    assert.equal(kept.protocol, 'amqp');
    await sub.endAsync();
    await closeConnection(connection);
    await broker.close();
  });

  test('a reject over AMQP lands in the DMQ and redelivers to its original queue for an MQTT consumer', async () => {
    const broker = await openBothDoors();
    await broker.engine.createQueue('jobs', { subscriptions: ['jobs/#'] });
    const pub = await mqttConnect(broker.mqttUrl, { clientId: 'x-jobs-pub' });
    await pub.publishAsync('jobs/1', 'job one', { qos: 1 });
    const connection = await connect(broker.amqpPort);
    const { receiver, received, opened } = openReceiver(connection, 'jobs');
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1);
    received[0]!.delivery.reject({ condition: 'app:invalid', description: 'missing recipe' });
    await waitFor(() => broker.engine.deadMessages.list().length === 1, { what: 'dead message' });
    const dead = broker.engine.deadMessages.list()[0]!;
    assert.deepEqual([dead.queue, dead.reason, dead.error], ['jobs', 'rejected', 'app:invalid: missing recipe']);
    receiver.close();
    await waitFor(() => broker.engine.getQueue('jobs').consumers === 0);
    await broker.engine.deadMessages.redeliver({ ids: [dead.id] });
    const worker = await mqttConnect(broker.mqttUrl, { clientId: 'x-worker' });
    const got = collect(worker);
    await worker.subscribeAsync('$queue/jobs', { qos: 1 });
    await waitFor(() => got.length === 1, { what: 'redelivered over MQTT' });
    assert.equal(got[0]!.payload, 'job one');
    await Promise.all([pub.endAsync(), worker.endAsync()]);
    await closeConnection(connection);
    await broker.close();
  });
});
