// Issue 16, items 1, 2 and 7: state has an owner. A persistent MQTT session and an AMQP durable
// subscription belong to the user who made them: another user presenting the same client id, or
// container id + link name, is refused and touches nothing of the owner's. A will goes out with
// the rights of the client that set it, also after kill -9 and restart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { freePort, kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as connectAmqp, openReceiver, text } from './amqp-helpers.ts';
import { collect } from './mqtt-helpers.ts';
import { basic, limitedPassword, startSecuredBroker, tryMqtt } from './security-helpers.ts';

describe('security: sessions and durable subscriptions belong to their owner', () => {
  let broker: Broker;
  let adminPassword: string;
  let mqttUrl: string;
  let amqpPort: number;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, adminPassword, mqttUrl, amqpPort, cleanup } = await startSecuredBroker());
  });
  after(() => cleanup());

  const admin = () => ({ username: 'admin', password: adminPassword });
  const limited = { username: 'limited', password: limitedPassword };
  const publish = (topic: string, payload: string) =>
    broker.service.call('messages.publish', { topic, payload }, undefined);

  async function connected(
    options: Parameters<typeof tryMqtt>[1],
  ): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    const result = await tryMqtt(mqttUrl, options);
    if (!('client' in result)) assert.fail(`connect refused with ${result.refused}`);
    return result;
  }

  for (const protocolVersion of [4, 5] as const) {
    const refusedCode = protocolVersion === 5 ? 0x87 : 5;
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: another user presenting a persistent session's client id is refused (${refusedCode}) and the owner's queued message stays for the owner`, async () => {
      const clientId = `admin-session-v${protocolVersion}`;
      const v5 = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {};
      const owner = await connected({ protocolVersion, clientId, clean: false, ...v5, ...admin() });
      await owner.client.subscribeAsync('secret/#', { qos: 1 });
      await owner.client.endAsync();
      await publish('secret/plans', 'for the admin only');

      for (const clean of [false, true]) {
        const hijack = await tryMqtt(mqttUrl, { protocolVersion, clientId, clean, ...v5, ...limited });
        assert.deepEqual(hijack, { refused: refusedCode }, `limited user, clean ${clean}`);
      }
      assert.equal(broker.engine.getQueue(`mqtt/${clientId}`).depth, 1, 'the session queue is untouched');

      const back = await connected({ protocolVersion, clientId, clean: false, ...v5, ...admin() });
      assert.equal(back.sessionPresent, true);
      const received = collect(back.client);
      await waitFor(() => received.length === 1, { what: 'the queued message for its owner' });
      assert.equal(received[0]!.payload, 'for the admin only');
      await back.client.endAsync();
    });
  }

  it("MQTT: another user presenting a connected client's id does not kick it; the owner itself takes over", async () => {
    const clientId = 'admin-live';
    const live = await connected({ protocolVersion: 5, clientId, ...admin() });
    let closed = false;
    live.client.on('close', () => (closed = true));
    await live.client.subscribeAsync('secret/live', { qos: 1 });
    const hijack = await tryMqtt(mqttUrl, { protocolVersion: 5, clientId, ...limited });
    assert.deepEqual(hijack, { refused: 0x87 });
    const received = collect(live.client);
    await publish('secret/live', 'still here');
    await waitFor(() => received.length === 1, { what: 'the live connection still receiving' });
    assert.equal(closed, false);
    assert.ok(
      broker.security.audit.query({ user: 'limited', operation: 'mqtt.connect', limit: 10 }).length > 0,
      'the refusal is audited',
    );
    const takeover = await connected({ protocolVersion: 5, clientId, ...admin() });
    await waitFor(() => closed, { what: 'the same user taking over its client id [MQTT-3.1.4-3]' });
    await takeover.client.endAsync();
  });

  it('AMQP: another user attaching to a durable subscription with the same container id and link name is refused (amqp:unauthorized-access); the owner keeps its backlog and filter', async () => {
    const queue = 'amqp-sub/jms-app/orders-sub';
    const durable = (address: string) => ({ address, durable: 2, expiry_policy: 'never' });
    const owner = await connectAmqp(amqpPort, { container_id: 'jms-app', username: 'admin', password: adminPassword });
    const first = openReceiver(owner, durable('topic://secret/#'), { name: 'orders-sub' });
    await first.opened;
    await closeConnection(owner); // the durable subscription stays
    await publish('secret/backlog', 'admin backlog');
    await waitFor(() => broker.engine.getQueue(queue).depth === 1, { what: 'the backlog' });

    const thief = await connectAmqp(amqpPort, { container_id: 'jms-app', ...limited });
    const stolen = openReceiver(thief, durable('topic://plant/line1/#'), { name: 'orders-sub', credit_window: 10 });
    await assert.rejects(stolen.opened, (error: { condition?: string }) => {
      assert.equal(error.condition, 'amqp:unauthorized-access');
      return true;
    });
    assert.equal(stolen.received.length, 0);
    await closeConnection(thief);
    assert.deepEqual(broker.engine.getQueue(queue).config.subscriptions, ['secret/#'], 'not re-pointed');

    const back = await connectAmqp(amqpPort, { container_id: 'jms-app', username: 'admin', password: adminPassword });
    const resumed = openReceiver(back, durable('topic://secret/#'), {
      name: 'orders-sub',
      credit_window: 10,
      autoaccept: true,
    });
    await resumed.opened;
    await waitFor(() => resumed.received.length === 1, { what: 'the backlog for its owner' });
    assert.equal(text(resumed.received[0]!.message), 'admin backlog');
    await closeConnection(back);
  });
});

describe('security: a will is published with the rights of the client that set it, also after a crash', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-will-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("after kill -9 and restart, a limited user's will on its own topic is published and its will on secret/… is refused and audited", async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const script = join(import.meta.dirname, 'security-child-broker.ts');
    const args = [dir, String(mqttPort), String(httpPort)];
    const first = await startChildScript(script, args, { what: 'the broker', timeoutMs: 30_000 });
    const adminPassword = /ready (\S+)/.exec(first.out())![1]!;
    const url = `mqtt://127.0.0.1:${mqttPort}`;
    const admin = { username: 'admin', password: adminPassword };
    let child = first.child;
    try {
      // The admin's persistent session collects everything while the broker is down and restarts.
      const watcher = await tryMqtt(url, { protocolVersion: 4, clientId: 'watcher', clean: false, ...admin });
      assert.ok('client' in watcher);
      await watcher.client.subscribeAsync('#', { qos: 1 });
      await watcher.client.endAsync();
      for (const [clientId, topic] of [
        ['limited-allowed', 'plant/line1/gone'],
        ['limited-secret', 'secret/gone'],
      ] as const) {
        const c = await tryMqtt(url, {
          protocolVersion: 4,
          clientId,
          username: 'limited',
          password: limitedPassword,
          will: { topic, payload: Buffer.from(`will of ${clientId}`), qos: 1, retain: false },
        });
        assert.ok('client' in c, `${clientId} connects`);
        // Leave the connection open: kill -9 takes the broker down with the wills stored.
      }
      await kill9(child);
      child = (await startChildScript(script, args, { what: 'the restarted broker', timeoutMs: 30_000 })).child;

      const authorization = basic('admin', adminPassword);
      await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${httpPort}/api/v1/audit?operation=mqtt.will`, {
            headers: { authorization },
          });
          const { records } = (await response.json()) as { records: Array<{ resource: string; user: string }> };
          return records.some((r) => r.resource === 'secret/gone' && r.user === 'limited');
        },
        { what: 'the refused will in the audit log', timeoutMs: 15_000, intervalMs: 100 },
      );
      const back = await tryMqtt(url, { protocolVersion: 4, clientId: 'watcher', clean: false, ...admin });
      assert.ok('client' in back);
      const received = collect(back.client);
      await waitFor(() => received.some((m) => m.topic === 'plant/line1/gone'), {
        what: 'the allowed will',
        timeoutMs: 15_000,
      });
      assert.deepEqual(
        received.filter((m) => m.topic === 'secret/gone'),
        [],
        'the will on secret/… is not published',
      );
      await back.client.endAsync();
    } finally {
      await kill9(child);
    }
  });
});
