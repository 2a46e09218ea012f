// Security the same on every door: the same users and ACLs, exercised over MQTT (MQTT.js), AMQP (rhea), HTTP
// (Basic auth) and the service layer IPC uses, give the same allow/deny for every action. Then
// brute-force slowdown, audit entries, first-run setup, /metrics and the OpenAPI document.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { contract } from '../../core/api/contract.ts';
import type { CallContext } from '../../core/api/service.ts';
import type { Broker } from '../../core/broker.ts';
import { SluiceError } from '../../core/errors.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { closeConnection, connect as connectAmqp, openSender, send } from './amqp-helpers.ts';

type Action = 'publish' | 'subscribe' | 'consume';
type Allowed = boolean;

const users = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' } as const;
type User = keyof typeof users;

/** [user, action, resource, allowed]: the one table every door must agree with. */
const matrix: ReadonlyArray<readonly [User, Action, string, Allowed]> = [
  ['alice', 'publish', 'plant/a/temp', true],
  ['alice', 'publish', 'office/a', false],
  ['alice', 'subscribe', 'plant/#', true],
  ['alice', 'subscribe', '#', false],
  ['alice', 'consume', 'orders', true],
  ['bob', 'publish', 'plant/a/temp', false],
  ['bob', 'subscribe', 'plant/#', true],
  ['bob', 'subscribe', '#', true],
  ['bob', 'consume', 'orders', false],
  ['carol', 'publish', 'plant/a/temp', false],
  ['carol', 'subscribe', 'plant/+/temp', false],
  ['carol', 'consume', 'orders', false],
  ['carol', 'publish', 'users/carol/inbox', true],
  ['carol', 'publish', 'users/alice/inbox', false],
];

describe('security', () => {
  let broker: Broker;
  let base: string;
  let mqttUrl: string;
  let amqpPort: number;
  let cleanup: () => Promise<void>;
  let admin: string;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker(
      {
        security: { anonymous: false, bruteForce: { freeAttempts: 2, baseDelayMs: 300, maxDelayMs: 2000 } },
        queues: [{ name: 'orders', subscriptions: ['plant/+/orders'] }],
      },
      { rateIntervalMs: 50 },
    ));
    base = broker.httpUrl;
    mqttUrl = broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!;
    amqpPort = Number(/:(\d+)/.exec(broker.listeners.find((l) => l.name === 'amqp')!.url)![1]);
    admin = basic('admin', broker.firstRunAdmin!.password);
    const { security } = broker;
    security.putRole('plant-publisher', 'publish to the plant', [{ actions: ['publish'], patterns: ['plant/#'] }]);
    security.putRole('plant-consumer', 'plant topics and the orders queue', [
      { actions: ['subscribe'], patterns: ['plant/#'] },
      { actions: ['consume'], patterns: ['orders'] },
    ]);
    security.putRole('own-inbox', 'each user publishes to their own inbox', [
      { actions: ['publish'], patterns: ['users/${user}/#'] },
    ]);
    await security.createUser('alice', users.alice, ['plant-publisher', 'plant-consumer']);
    await security.createUser('bob', users.bob, ['viewer']);
    await security.createUser('carol', users.carol, ['own-inbox']);
  });
  after(() => cleanup());

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  /** Over the service layer, as Electron IPC calls it. */
  async function viaService(user: User, action: Action, resource: string): Promise<Allowed> {
    const context: CallContext = { principal: { user, protocol: 'ipc' } };
    try {
      if (action === 'publish') await broker.service.call('messages.publish', { topic: resource }, context);
      else if (action === 'subscribe')
        broker.service.subscribe('events.stream', { topics: [resource] }, () => {}, context)();
      else await broker.service.call('queues.receive', { name: resource }, context);
      return true;
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'not-authorized') return false;
      throw error;
    }
  }

  /** Over HTTP with Basic auth. */
  async function viaHttp(user: User, action: Action, resource: string): Promise<Allowed> {
    const authorization = basic(user, users[user]);
    let response: Response;
    if (action === 'publish')
      response = await fetch(`${base}/api/v1/topics/${resource}`, {
        method: 'POST',
        body: 'x',
        headers: { authorization },
      });
    else if (action === 'subscribe') {
      const abort = new AbortController();
      response = await fetch(`${base}/api/v1/events?topics=${encodeURIComponent(resource)}`, {
        headers: { authorization },
        signal: abort.signal,
      });
      abort.abort();
    } else
      response = await fetch(`${base}/api/v1/queues/${resource}/messages:receive`, {
        method: 'POST',
        body: '{}',
        headers: { authorization, 'content-type': 'application/json' },
      });
    if (response.status === 403) return false;
    assert.ok(response.status < 300, `HTTP ${action} ${resource} as ${user}: ${response.status}`);
    return true;
  }

  /** Over MQTT 3.1.1 with MQTT.js: PUBACK or a closed connection; SUBACK granted or 0x80. */
  async function viaMqtt(user: User, action: Action, resource: string): Promise<Allowed> {
    const client: MqttClient = await new Promise((resolve, reject) => {
      const c = mqtt.connect(mqttUrl, {
        protocolVersion: 4,
        username: user,
        password: users[user],
        reconnectPeriod: 0,
        clientId: `matrix-${user}-${Math.random().toString(16).slice(2)}`,
      });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    try {
      if (action === 'publish')
        return await new Promise<Allowed>((resolve) => {
          client.once('close', () => resolve(false)); // 3.1.1 has no negative PUBACK: the broker closes
          client.publish(resource, 'x', { qos: 1 }, (error) => {
            if (!error) resolve(true);
          });
        });
      const filter = action === 'consume' ? `$queue/${resource}` : resource;
      // MQTT.js rejects a SUBACK 0x80 (failure) with the packet attached.
      const granted = await client
        .subscribeAsync(filter, { qos: 1 })
        .catch((error: { packet?: { granted?: number[] } }) => error.packet?.granted?.map((qos) => ({ qos })) ?? []);
      return granted[0]?.qos !== undefined && granted[0].qos !== 128;
    } finally {
      await client.endAsync(true);
    }
  }

  /** Over AMQP 1.0 with rhea and SASL PLAIN: `accepted` or `rejected`; a receiver's attach granted or refused. */
  async function viaAmqp(user: User, action: Action, resource: string): Promise<Allowed> {
    const connection = await connectAmqp(amqpPort, { username: user, password: users[user] });
    const unauthorized = (error: unknown) =>
      (error as { condition?: string } | undefined)?.condition === 'amqp:unauthorized-access';
    try {
      if (action === 'publish') {
        const sender = await openSender(connection, `topic://${resource}`).catch((error: unknown) => error);
        if (unauthorized(sender)) return false;
        const outcome = await send(sender as Awaited<ReturnType<typeof openSender>>, { body: 'x' });
        if (outcome.state === 'rejected' && outcome.condition === 'amqp:unauthorized-access') return false;
        assert.equal(outcome.state, 'accepted', `AMQP publish ${resource} as ${user}: ${JSON.stringify(outcome)}`);
        return true;
      }
      const address = action === 'consume' ? `queue://${resource}` : `topic://${resource}`;
      return await new Promise<Allowed>((resolve, reject) => {
        const receiver = connection.open_receiver({ source: { address }, credit_window: 0 });
        const refused = () =>
          unauthorized(receiver.error)
            ? resolve(false)
            : reject(new Error(`AMQP ${action} ${resource}: ${JSON.stringify(receiver.error)}`));
        // A refused attach arrives with its detach in the same read: look once both are processed.
        receiver.once('receiver_open', () =>
          setImmediate(() => (receiver.error === undefined ? resolve(true) : refused())),
        );
        receiver.once('receiver_error', refused);
      });
    } finally {
      await closeConnection(connection);
    }
  }

  describe('the same decision on every door', () => {
    for (const [user, action, resource, allowed] of matrix)
      it(`${user} ${allowed ? 'may' : 'may not'} ${action} ${resource} — service, HTTP, MQTT and AMQP agree`, async () => {
        assert.equal(await viaService(user, action, resource), allowed, 'service (IPC)');
        assert.equal(await viaHttp(user, action, resource), allowed, 'HTTP');
        assert.equal(await viaMqtt(user, action, resource), allowed, 'MQTT');
        assert.equal(await viaAmqp(user, action, resource), allowed, 'AMQP');
      });
  });

  it('without credentials every door refuses: HTTP 401 with a challenge, MQTT CONNACK 5/4', async () => {
    const response = await fetch(`${base}/api/v1/queues`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.match(response.headers.get('www-authenticate') ?? '', /Bearer/);
    const refused = await new Promise<Error>((resolve) => {
      const c = mqtt.connect(mqttUrl, { protocolVersion: 4, reconnectPeriod: 0 });
      c.once('error', (error) => {
        c.end(true);
        resolve(error);
      });
    });
    assert.match(refused.message, /Not authorized|Bad username or password/i);
    assert.equal((await fetch(`${base}/api/v1/health`)).status, 200, 'health is public');
  });

  it('a token from login works as Bearer until logout revokes it', async () => {
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'bob', password: users.bob }),
    });
    assert.equal(login.status, 200);
    const { token } = contract['auth.login'].output.parse(await login.json());
    const authorization = `Bearer ${token}`;
    const whoami = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization } });
    assert.deepEqual(((await whoami.json()) as { roles: string[] }).roles, ['viewer']);
    assert.equal(
      (await fetch(`${base}/api/v1/auth/logout`, { method: 'POST', headers: { authorization } })).status,
      200,
    );
    assert.equal((await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization } })).status, 401);
  });

  it('repeated failed logins are slowed down exponentially and logged in the audit', async () => {
    const attempt = async () => {
      const response = await fetch(`${base}/api/v1/stats`, { headers: { authorization: basic('carol', 'wrong') } });
      assert.equal(response.status, 401);
    };
    for (let i = 0; i < 4; i++) await attempt(); // two free attempts, then 300 ms, then 600 ms
    // The waits are read from the audit, not timed: wall-clock timings on a loaded machine are not a test.
    const details = (await broker.service.call('audit.list', { operation: 'login', user: 'carol' })).records.map(
      (r) => r.detail ?? '',
    );
    assert.deepEqual(
      details.map((d) => /throttled (\d+) ms/.exec(d)?.[1] ?? '0'),
      ['0', '0', '300', '600'],
    );
    const { records } = await broker.service.call('audit.list', { operation: 'login', user: 'carol' });
    assert.ok(records.length >= 4 && records.every((r) => r.result === 'refused'));
    // The right password still works, after the delay, and clears the record.
    const ok = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: basic('carol', users.carol) } });
    assert.equal(ok.status, 200);
  });

  it('management actions are audited with who, what, when and result — refusals included', async () => {
    const created = await fetch(`${base}/api/v1/queues`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'audited' }),
    });
    assert.equal(created.status, 201);
    const refused = await fetch(`${base}/api/v1/queues/audited`, {
      method: 'DELETE',
      headers: { authorization: basic('bob', users.bob) },
    });
    assert.equal(refused.status, 403);
    const list = await fetch(`${base}/api/v1/audit?operation=queues.create`, { headers: { authorization: admin } });
    const page = contract['audit.list'].output.parse(await list.json());
    assert.ok(
      page.records.some(
        (r) => r.user === 'admin' && r.resource === 'audited' && r.result === 'ok' && r.protocol === 'http',
      ),
    );
    const denied = await broker.service.call('audit.list', { operation: 'queues.delete' });
    assert.ok(denied.records.some((r) => r.user === 'bob' && r.result === 'refused' && r.code === 'not-authorized'));
    const exported = await fetch(`${base}/api/v1/audit:export`, { headers: { authorization: admin } });
    const lines = (await exported.text()).trim().split('\n');
    assert.ok(lines.length >= 2);
    for (const line of lines) contract['audit.export'].output.parse(JSON.parse(line));
  });

  it('connections over MQTT are listed with their user and can be disconnected', async () => {
    const client = await mqtt.connectAsync(mqttUrl, {
      protocolVersion: 4,
      username: 'alice',
      password: users.alice,
      reconnectPeriod: 0,
      clientId: 'listed',
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const { connections } = await broker.service.call('connections.list', { protocol: 'mqtt' });
    const mine = connections.find((c) => c.clientId === 'listed');
    assert.equal(mine?.user, 'alice');
    assert.match(mine?.address ?? '', /127\.0\.0\.1/);
    await broker.service.call('connections.disconnect', { id: mine!.id });
    await closed;
    await waitFor(
      async () => !(await broker.service.call('connections.list', {})).connections.some((c) => c.clientId === 'listed'),
    );
    await client.endAsync(true);
  });

  it('/metrics is Prometheus text with queue, connection, commit-latency and disk series', async () => {
    await broker.engine.publish({ topic: 'plant/a/orders', payload: 'counted' });
    const response = await fetch(`${base}/metrics`, { headers: { authorization: admin } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const series = new Map<string, number>();
    for (const line of text.trim().split('\n')) {
      if (line.startsWith('#')) {
        assert.match(line, /^# (HELP|TYPE) [a-z_]+ .+$/);
        continue;
      }
      const match = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      series.set(match[1]!, Number(match[2]));
    }
    assert.ok(series.get('sluice_queue_depth{queue="orders"}')! >= 1);
    assert.ok(series.has('sluice_queue_in_rate{queue="orders"}'));
    assert.ok(series.get('sluice_database_bytes')! > 0);
    assert.ok(series.get('sluice_commit_duration_seconds_count')! > 0);
    const buckets = [...series].filter(([name]) => name.startsWith('sluice_commit_duration_seconds_bucket'));
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]![1] >= buckets[i - 1]![1], 'buckets are cumulative');
    assert.equal((await fetch(`${base}/metrics`)).status, 401, 'metrics need credentials like stats');
  });

  it('the OpenAPI document is well formed and every route in it answers (no 404 route, no 5xx)', async () => {
    const doc = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          { operationId?: string; responses: Record<string, unknown>; parameters?: { name: string; in: string }[] }
        >
      >;
    };
    assert.equal(doc.openapi, '3.1.0');
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
        for (const param of path.match(/\{(\w+)\}/g) ?? [])
          assert.ok(
            op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === param),
            `${path} declares ${param}`,
          );
        if (op.operationId) {
          assert.ok(!ids.has(op.operationId), `${op.operationId} is unique`);
          ids.add(op.operationId);
        }
        const url =
          base +
          path.replace(/\{(\w+)\}/g, (_m, name: string) =>
            name === 'deliveryId' ? '1-0123456789ab' : name === 'id' ? '999' : 'plant-x',
          );
        const abort = new AbortController();
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: {
            authorization: admin,
            ...(method !== 'get' && method !== 'delete' && { 'content-type': 'application/json' }),
          },
          ...(method !== 'get' && method !== 'delete' && { body: '{}' }),
          signal: abort.signal,
        });
        const body = response.headers.get('content-type')?.includes('event-stream') ? '' : await response.text();
        abort.abort();
        assert.ok(response.status < 500, `${method} ${path}: ${response.status} ${body}`);
        if (response.status === 404) assert.doesNotMatch(body, /route-not-found/, `${method} ${path} is routed`);
      }
  });
});

describe('first-run setup from the UI', () => {
  it('setup is open only while no user exists, and answers a token for the new admin', async () => {
    const { broker, cleanup } = await startTestBroker({ security: { anonymous: false, firstRun: 'setup' } });
    try {
      const base = broker.httpUrl;
      const status = await (await fetch(`${base}/api/v1/auth/status`)).json();
      assert.deepEqual(status, { setupRequired: true, anonymous: false });
      assert.equal(broker.firstRunAdmin, undefined);
      const setup = await fetch(`${base}/api/v1/auth/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'root', password: 'correct horse' }),
      });
      assert.equal(setup.status, 201);
      const { token } = contract['auth.setup'].output.parse(await setup.json());
      const users = await fetch(`${base}/api/v1/users`, { headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual(
        ((await users.json()) as { users: { name: string }[] }).users.map((u) => u.name),
        ['root'],
      );
      const again = await fetch(`${base}/api/v1/auth/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'mallory', password: 'let me in please' }),
      });
      assert.equal(again.status, 403);
    } finally {
      await cleanup();
    }
  });
});
