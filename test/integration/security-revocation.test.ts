// Issue 16, item 5: rights are live. Changing a user's roles, deleting the user or changing its
// password reaches its open connections at once: MQTT DISCONNECT 0x87 (3.1.1: the socket
// closes), AMQP detach / close with amqp:unauthorized-access, SSE stream ended; a new password
// or a deleted user revokes the user's bearer tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as connectAmqp, openReceiver } from './amqp-helpers.ts';
import { collect } from './mqtt-helpers.ts';
import { basic, startSecuredBroker, tryMqtt } from './security-helpers.ts';

describe('security: revocation reaches open connections', () => {
  let broker: Broker;
  let base: string;
  let mqttUrl: string;
  let amqpPort: number;
  let admin: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, mqttUrl, amqpPort, cleanup } = await startSecuredBroker());
    base = broker.httpUrl;
    admin = basic('admin', broker.firstRunAdmin!.password);
  });
  after(() => cleanup());

  const manage = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: admin, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  const createUser = async (user: { name: string; password: string; roles: string[] }) =>
    assert.equal((await manage('POST', '/api/v1/users', user)).status, 201);

  /** Opens every kind of subscription `user` can hold on plant/line1/# and reports how each ended. */
  async function subscribeEverywhere(user: string, password: string) {
    const ended = { mqtt5: undefined as number | undefined, mqtt311: false, amqp: '', sse: false };
    const v5 = await tryMqtt(mqttUrl, { protocolVersion: 5, username: user, password });
    if (!('client' in v5)) assert.fail(`MQTT 5 refused ${v5.refused}`);
    v5.client.on('disconnect', (packet) => (ended.mqtt5 = packet.reasonCode ?? 0));
    await v5.client.subscribeAsync('plant/line1/#', { qos: 1 });
    const v4 = await tryMqtt(mqttUrl, { protocolVersion: 4, username: user, password });
    if (!('client' in v4)) assert.fail(`MQTT 3.1.1 refused ${v4.refused}`);
    v4.client.on('close', () => (ended.mqtt311 = true));
    await v4.client.subscribeAsync('plant/line1/#', { qos: 1 });
    const amqp = await connectAmqp(amqpPort, { username: user, password });
    const receiver = openReceiver(amqp, 'topic://plant/line1/#', { credit_window: 10, autoaccept: true });
    await receiver.opened;
    void receiver.closed.then((error) => (ended.amqp = error?.condition ?? 'closed'));
    amqp.on(
      'connection_close',
      () => (ended.amqp ||= amqp.error ? String((amqp.error as { condition?: string }).condition) : 'closed'),
    );
    const abort = new AbortController();
    const sse = await fetch(`${base}/api/v1/events?topics=${encodeURIComponent('plant/line1/#')}`, {
      headers: { authorization: basic(user, password) },
      signal: abort.signal,
    });
    assert.equal(sse.status, 200);
    const reader = sse.body!.getReader();
    void (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) break;
      }
      ended.sse = true;
    })();
    const clients: MqttClient[] = [v5.client, v4.client];
    return {
      ended,
      received: { v5: collect(v5.client), v4: collect(v4.client), amqp: receiver.received },
      async close() {
        abort.abort();
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await closeConnection(amqp);
      },
    };
  }

  async function expectAllEnded(held: Awaited<ReturnType<typeof subscribeEverywhere>>) {
    await waitFor(
      () => held.ended.mqtt5 !== undefined && held.ended.mqtt311 && held.ended.amqp !== '' && held.ended.sse,
      { what: () => `every subscription to end: ${JSON.stringify(held.ended)}`, timeoutMs: 5000 },
    );
    assert.equal(held.ended.mqtt5, 0x87);
    assert.equal(held.ended.amqp, 'amqp:unauthorized-access');
  }

  it('taking away the roles ends MQTT 5, MQTT 3.1.1, AMQP and SSE subscriptions the user may no longer have', async () => {
    await createUser({ name: 'roles-gone', password: 'roles-gone-pw', roles: ['line1'] });
    const held = await subscribeEverywhere('roles-gone', 'roles-gone-pw');
    const changed = await manage('PATCH', '/api/v1/users/roles-gone', { roles: [] });
    assert.equal(changed.status, 200);
    await expectAllEnded(held);
    await broker.service.call('messages.publish', { topic: 'plant/line1/after', payload: 'x' });
    assert.equal(held.received.amqp.length, 0);
    await held.close();
  });

  it('narrowing a role ends the subscriptions it no longer covers', async () => {
    broker.security.putRole('line1-narrow', 'line 1, for now', [{ actions: ['*'], patterns: ['plant/line1/#'] }]);
    await createUser({ name: 'narrowed', password: 'narrowed-pw', roles: ['line1-narrow'] });
    const held = await subscribeEverywhere('narrowed', 'narrowed-pw');
    broker.security.putRole('line1-narrow', 'temperatures only', [{ actions: ['*'], patterns: ['plant/line1/temp'] }]);
    await expectAllEnded(held);
    await held.close();
  });

  it('deleting the user ends its connections and its tokens', async () => {
    await createUser({ name: 'deleted', password: 'deleted-pw', roles: ['line1'] });
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'deleted', password: 'deleted-pw' }),
    });
    const { token } = (await login.json()) as { token: string };
    const held = await subscribeEverywhere('deleted', 'deleted-pw');
    assert.equal((await manage('DELETE', '/api/v1/users/deleted')).status, 200);
    await expectAllEnded(held);
    const whoami = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(whoami.status, 401);
    await held.close();
  });

  it('a new password revokes the bearer tokens and ends the open connections', async () => {
    await createUser({ name: 'rotated', password: 'rotated-pw-1', roles: ['line1'] });
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'rotated', password: 'rotated-pw-1' }),
    });
    const { token } = (await login.json()) as { token: string };
    const held = await subscribeEverywhere('rotated', 'rotated-pw-1');
    assert.equal((await manage('PATCH', '/api/v1/users/rotated', { password: 'rotated-pw-2' })).status, 200);
    await expectAllEnded(held);
    const whoami = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(whoami.status, 401);
    await held.close();
  });

  // Publish decisions are cached per (user, action, topic) (core/security/policy.ts): the cache
  // must not outlive a change, on a connection that stays open the whole time.
  it('a role change applies to the next publish of an open MQTT 5 connection, both ways', async () => {
    broker.security.putRole('line1-publish', 'may publish on line 1', [
      { actions: ['publish'], patterns: ['plant/line1/#'] },
    ]);
    await createUser({ name: 'publisher5', password: 'publisher5-pw', roles: ['line1-publish'] });
    const v5 = await tryMqtt(mqttUrl, { protocolVersion: 5, username: 'publisher5', password: 'publisher5-pw' });
    if (!('client' in v5)) assert.fail(`MQTT 5 refused ${v5.refused}`);
    const publishCode = (topic: string) =>
      v5.client.publishAsync(topic, 'x', { qos: 1 }).then(
        (packet) => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    try {
      assert.equal(await publishCode('plant/line1/speed'), 0);
      broker.security.putRole('line1-publish', 'may publish nothing', [
        { actions: ['publish'], patterns: ['nowhere'] },
      ]);
      assert.equal(await publishCode('plant/line1/speed'), 0x87);
      broker.security.putRole('line1-publish', 'may publish on line 1 again', [
        { actions: ['publish'], patterns: ['plant/line1/#'] },
      ]);
      assert.equal(await publishCode('plant/line1/speed'), 0);
    } finally {
      await v5.client.endAsync(true);
    }
  });

  it("a role change that still covers a user's subscriptions leaves its connections alone", async () => {
    await createUser({ name: 'kept', password: 'kept-password', roles: ['line1'] });
    const held = await subscribeEverywhere('kept', 'kept-password');
    assert.equal((await manage('PATCH', '/api/v1/users/kept', { roles: ['line1', 'viewer'] })).status, 200);
    await broker.service.call('messages.publish', { topic: 'plant/line1/still', payload: 'still here' });
    await waitFor(
      () => held.received.v5.length === 1 && held.received.v4.length === 1 && held.received.amqp.length === 1,
      { what: 'the message on every kept subscription' },
    );
    assert.deepEqual(held.ended, { mqtt5: undefined, mqtt311: false, amqp: '', sse: false });
    await held.close();
  });
});
