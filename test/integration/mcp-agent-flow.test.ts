// The "2 a.m. schema change" (resources/scenarios/3-schema-change.json) worked by a scripted
// agent instead of a model: an oven PLC publishes over MQTT (MQTT.js), a historian consumes over
// the REST API and rejects the new firmware's payloads; the agent, connected through `sluice mcp`
// (stdio) as a commissioning engineer, finds the queue with dead messages, reads why they died,
// and redelivers them once the historian is fixed. The broker ends with every reading stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { authorizationHeader, connectMcp, structured, type TestAuth } from './mcp-helpers.ts';

type Reading = { seq: number; fw: string; temperatureC?: number; temp_c?: number };

describe('an agent over MCP works the 2 a.m. schema change', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  const engineer: TestAuth = { user: 'engineer', password: 'engineer-password' };
  const historian: TestAuth = { user: 'historian', password: 'historian-password' };
  const stored = new Map<number, Reading>();

  before(async () => {
    ({ broker, cleanup } = await startTestBroker({
      security: { anonymous: false },
      queues: [{ name: 'quality', subscriptions: ['line/oven/temperature'] }],
    }));
    const { security } = broker;
    security.putRole('commissioning', 'look at everything, manage the quality queue', [
      { actions: ['browse'], patterns: ['#'] },
      { actions: ['manage'], patterns: ['quality'] },
    ]);
    await security.createUser('engineer', 'engineer-password', ['commissioning']);
    await security.createUser('plc', 'plc-password', ['publisher']);
    await security.createUser('historian', 'historian-password', ['consumer']);
  });
  after(() => cleanup());

  /** The historian: takes what is ready, stores what passes `valid`, rejects the rest with its reason. */
  async function historianDrains(valid: (reading: Reading) => boolean): Promise<number> {
    const call = async (path: string, body: unknown) => {
      const response = await fetch(`${broker.httpUrl}/api/v1/queues/quality${path}`, {
        method: 'POST',
        headers: { authorization: authorizationHeader(historian), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.ok(response.ok, `historian ${path}: HTTP ${response.status}`);
      return response.json() as Promise<{ messages: Array<{ deliveryId: string; message: { payload: string } }> }>;
    };
    let handled = 0;
    for (;;) {
      const { messages } = await call('/messages:receive', { max: 100 });
      if (messages.length === 0) return handled;
      for (const { deliveryId, message } of messages) {
        const reading = JSON.parse(message.payload) as Reading;
        if (valid(reading)) {
          stored.set(reading.seq, reading);
          await call(`/messages/${deliveryId}:ack`, {});
        } else await call(`/messages/${deliveryId}:reject`, { error: 'schema-invalid: temperatureC is required' });
        handled++;
      }
    }
  }

  it('finds the dead messages, explains them and redelivers them after the fix', async () => {
    // 01:50–02:06: firmware 1.4 sends temperatureC, then firmware 2.0 sends temp_c.
    const mqttUrl = broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!;
    const plc = await mqtt.connectAsync(mqttUrl, { username: 'plc', password: 'plc-password', clientId: 'oven-plc' });
    const readings: Reading[] = [
      ...Array.from({ length: 10 }, (_, i) => ({ seq: i + 1, fw: '1.4', temperatureC: 180 + i })),
      ...Array.from({ length: 6 }, (_, i) => ({ seq: i + 11, fw: '2.0', temp_c: 190 + i })),
    ];
    for (const reading of readings)
      await plc.publishAsync('line/oven/temperature', JSON.stringify(reading), { qos: 1 });
    await plc.endAsync();
    const oldSchema = (r: Reading) => typeof r.temperatureC === 'number';
    assert.equal(await historianDrains(oldSchema), 16);
    assert.equal(stored.size, 10);

    // Morning: the engineer asks the agent why messages are dying.
    const { client, close } = await connectMcp('stdio', broker.httpUrl, engineer);
    try {
      const counts = structured<{ byReason: Array<{ queue: string; reason: string; count: number }> }>(
        await client.callTool({ name: 'dmq_counts', arguments: {} }),
      );
      const dying = counts.byReason.filter((row) => row.count > 0);
      assert.deepEqual(
        dying.map(({ queue, reason, count }) => ({ queue, reason, count })),
        [{ queue: 'quality', reason: 'rejected', count: 6 }],
      );
      const queue = dying[0]!.queue;
      const prompt = await client.getPrompt({ name: 'explain-dead-messages', arguments: { queue } });
      assert.match((prompt.messages[0]!.content as { text: string }).text, /dmq_redeliver/);

      const dead = structured<{
        deadMessages: Array<{ error: string; reason: string; message: { payload: string } }>;
      }>(await client.callTool({ name: 'dmq_list', arguments: { queue, limit: 20 } }));
      assert.equal(dead.deadMessages.length, 6);
      const why = new Set(dead.deadMessages.map((d) => d.error));
      assert.deepEqual([...why], ['schema-invalid: temperatureC is required']);
      assert.ok(
        dead.deadMessages.every((d) => /"temp_c"/.test(d.message.payload) && /"fw":"2.0"/.test(d.message.payload)),
      );

      // The historian is fixed to read temp_c as well; the agent redelivers.
      const redelivered = structured<{ redelivered: number; failed: unknown[] }>(
        await client.callTool({ name: 'dmq_redeliver', arguments: { filter: { queue } } }),
      );
      assert.deepEqual(redelivered, { redelivered: 6, failed: [] });
    } finally {
      await close();
    }
    const eitherSchema = (r: Reading) => typeof r.temperatureC === 'number' || typeof r.temp_c === 'number';
    assert.equal(await historianDrains(eitherSchema), 6);

    // Every reading stored once, nothing dead, nothing left, and the agent's act is on record.
    assert.deepEqual(
      [...stored.keys()].sort((a, b) => a - b),
      readings.map((r) => r.seq),
    );
    assert.equal(broker.engine.deadMessages.counts().length, 0);
    assert.equal(broker.engine.getQueue('quality').depth, 0);
    await waitFor(
      () =>
        broker.security.audit
          .query({ user: 'engineer', limit: 100 })
          .some((r) => r.operation === 'dmq.redeliver' && r.protocol === 'mcp' && r.result === 'ok'),
      { what: 'the redelivery in the audit log' },
    );
  });
});
