// Issue 16, items 3 and 4: authorize the flow, not only the door. A queue's subscriptions and a
// replay are checked against the topics they make flow, not only against the queue's name; and
// wildcards in ACL patterns never cover the `$…` management resources.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../core/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { basic, limitedPassword, startSecuredBroker, tryMqtt } from './security-helpers.ts';

describe('security: queues and replays cannot read past the ACL', () => {
  let broker: Broker;
  let base: string;
  let mqttUrl: string;
  let cleanup: () => Promise<void>;
  const limited = basic('limited', limitedPassword);
  before(async () => {
    ({ broker, mqttUrl, cleanup } = await startSecuredBroker());
    base = broker.httpUrl;
    for (const topic of ['orders/1', 'orders/2', 'plant/line2/temp', 'secret/plans', 'plant/line1/temp'])
      await broker.service.call('messages.publish', { topic, payload: topic });
  });
  after(() => cleanup());

  const call = (method: string, path: string, body: unknown, authorization = limited) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const queuePath = (name: string) => `/api/v1/queues/${encodeURIComponent(name)}`;

  it('creating a queue under an allowed name but subscribed to # is refused (403) and creates nothing', async () => {
    const response = await call('POST', '/api/v1/queues', { name: 'plant/line1/spy', subscriptions: ['#'] });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.equal(broker.engine.queueByName('plant/line1/spy'), undefined);
  });

  it("PATCHing a queue's subscriptions to a filter the user may not subscribe to is refused (403) and changes nothing", async () => {
    const created = await call('POST', '/api/v1/queues', { name: 'plant/line1/own', subscriptions: ['plant/line1/#'] });
    assert.equal(created.status, 201);
    const patched = await call('PATCH', queuePath('plant/line1/own'), { subscriptions: ['secret/#'] });
    assert.equal(patched.status, 403);
    assert.deepEqual(broker.engine.getQueue('plant/line1/own').config.subscriptions, ['plant/line1/#']);
    const allowed = await call('PATCH', queuePath('plant/line1/own'), { subscriptions: ['plant/line1/+'] });
    assert.equal(allowed.status, 200);
  });

  it('a replay of the whole log into the user’s own queue is refused; one filtered to its topics copies only those', async () => {
    const created = await call('POST', '/api/v1/queues', { name: 'plant/line1/replayed', subscriptions: [] });
    assert.equal(created.status, 201);
    const everything = await call('POST', '/api/v1/replays', {
      target: { queue: 'plant/line1/replayed' },
      start: { kind: 'beginning' },
    });
    assert.equal(everything.status, 403);
    const elsewhere = await call('POST', '/api/v1/replays', {
      target: { queue: 'plant/line1/replayed' },
      start: { kind: 'beginning' },
      topicFilter: 'orders/#',
    });
    assert.equal(elsewhere.status, 403);
    const own = await call('POST', '/api/v1/replays', {
      target: { queue: 'plant/line1/replayed' },
      start: { kind: 'beginning' },
      topicFilter: 'plant/line1/#',
    });
    assert.equal(own.status, 201);
    const { id } = (await own.json()) as { id: string };
    await waitFor(() => broker.engine.replays.get(id).state === 'completed', { what: 'the replay' });
    const topics = broker.engine
      .browseQueue('plant/line1/replayed', { afterEntryId: 0, limit: 100 })
      .map((entry) => entry.message.topic);
    assert.deepEqual(topics, ['plant/line1/temp']);
  });

  it('a replay that creates its target queue needs subscribe on the new queue’s subscriptions', async () => {
    const response = await call('POST', '/api/v1/replays', {
      target: { queue: 'plant/line1/fresh', create: { subscriptions: ['#'] } },
      start: { kind: 'beginning' },
      topicFilter: 'plant/line1/#',
    });
    assert.equal(response.status, 403);
    assert.equal(broker.engine.queueByName('plant/line1/fresh'), undefined);
  });

  describe('wildcards never match $… resources unless named', () => {
    before(async () => {
      broker.security.putRole('plus-manager', 'manage on +', [{ actions: ['*'], patterns: ['+'] }]);
      broker.security.putRole('hash-manager', 'manage on #', [{ actions: ['*'], patterns: ['#'] }]);
      broker.security.putRole('security-manager', 'users and roles, by name', [
        { actions: ['manage'], patterns: ['$security'] },
      ]);
      await broker.security.createUser('plus', 'plus-password', ['plus-manager']);
      await broker.security.createUser('hash', 'hash-password', ['hash-manager']);
      await broker.security.createUser('named', 'named-password', ['security-manager']);
    });

    for (const [user, password] of [
      ['plus', 'plus-password'],
      ['hash', 'hash-password'],
    ] as const)
      it(`a role with every action on ${user === 'plus' ? '+' : '#'} lists neither users nor connections (403)`, async () => {
        for (const path of ['/api/v1/users', '/api/v1/connections', '/api/v1/audit']) {
          const response = await fetch(`${base}${path}`, { headers: { authorization: basic(user, password) } });
          assert.equal(response.status, 403, path);
        }
      });

    it('a role naming $security manages users; the built-in admin still does everything', async () => {
      const named = await fetch(`${base}/api/v1/users`, {
        headers: { authorization: basic('named', 'named-password') },
      });
      assert.equal(named.status, 200);
      const admin = basic('admin', broker.firstRunAdmin!.password);
      for (const path of ['/api/v1/users', '/api/v1/connections', '/api/v1/audit']) {
        const response = await fetch(`${base}${path}`, { headers: { authorization: admin } });
        assert.equal(response.status, 200, path);
      }
    });

    it('MQTT: a role on # cannot subscribe to $SYS/#', async () => {
      const connected = await tryMqtt(mqttUrl, { protocolVersion: 5, username: 'hash', password: 'hash-password' });
      if (!('client' in connected)) assert.fail(`refused ${connected.refused}`);
      const granted = await connected.client
        .subscribeAsync('$SYS/#', { qos: 0 })
        .catch((error: { packet?: { granted?: number[] } }) => error.packet?.granted?.map((qos) => ({ qos })) ?? []);
      assert.equal(granted[0]?.qos, 0x87);
      await connected.client.endAsync();
    });
  });
});
