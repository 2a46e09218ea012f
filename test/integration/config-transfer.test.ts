// Configuration export/import (docs/handover.md) over the real HTTP API and the real CLI process:
// what the document holds, secrets only on request, the dry-run diff, idempotence, refusals that
// apply nothing, and the permission both need.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import type { ApiError } from '../../core/api/client.ts';
import { createHttpClient } from '../../core/api/client.ts';
import { configDocumentJsonSchema, type ConfigDocument } from '../../core/schema/config-document.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { runCli } from '../helpers/process.ts';

/** A broker with security on, an admin, and a commissioned configuration. */
async function commissioned(t: TestContext) {
  const started = await startTestBroker({
    security: { anonymous: false, firstRun: 'setup' },
    bridges: [
      {
        name: 'plant-uplink',
        enabled: false,
        upstream: { protocol: 'mqtt', url: 'mqtt://127.0.0.1:1' },
        out: { topics: [{ filter: 'plant/#' }] },
        credentials: { username: 'uplink', password: 'uplink-secret' },
      },
    ],
  });
  t.after(started.cleanup);
  const { broker } = started;
  await broker.security.createUser('admin', 'admin-password', ['admin']);
  const client = createHttpClient(broker.httpUrl, { auth: { username: 'admin', password: 'admin-password' } });
  await client.call('roles.put', {
    name: 'line-operator',
    description: 'Line 1 operators',
    rules: [{ actions: ['publish', 'subscribe'], patterns: ['plant/line1/#'] }],
  });
  await client.call('users.create', { name: 'olga', password: 'olga-password', roles: ['line-operator'] });
  await client.call('queues.create', {
    name: 'orders',
    subscriptions: ['plant/line1/orders/+', 'erp/orders/#'],
    maxRedelivery: 3,
    defaultTtlMs: 60_000,
    deadMessageQueue: 'orders-dmq',
    overflow: 'reject-publisher',
    maxDepthMessages: 5000,
    accessType: 'exclusive',
  });
  await broker.engine.createQueue('mqtt/some-session', { subscriptions: ['plant/#'] }); // protocol-owned
  return { ...started, client };
}

describe('config export', () => {
  it('holds declared queues with every setting, roles, users and bridges, without secrets or protocol-owned queues', async (t) => {
    const { client } = await commissioned(t);
    const document = await client.call('config.export', {});
    assert.equal(document.format, 'sluice-config');
    assert.equal(document.version, 1);
    assert.equal(document.includesSecrets, false);
    assert.deepEqual(
      document.queues.map((q) => q.name),
      ['orders'],
    );
    assert.deepEqual(document.queues[0], {
      name: 'orders',
      subscriptions: ['plant/line1/orders/+', 'erp/orders/#'],
      maxDepthMessages: 5000,
      maxDepthBytes: 1024 * 1024 * 1024,
      overflow: 'reject-publisher',
      maxRedelivery: 3,
      defaultTtlMs: 60_000,
      deadMessageQueue: 'orders-dmq',
      accessType: 'exclusive',
    });
    assert.deepEqual(document.roles, [
      {
        name: 'line-operator',
        description: 'Line 1 operators',
        rules: [{ actions: ['publish', 'subscribe'], patterns: ['plant/line1/#'] }],
      },
    ]);
    assert.deepEqual(document.users, [
      { name: 'admin', roles: ['admin'] },
      { name: 'olga', roles: ['line-operator'] },
    ]);
    assert.equal(document.bridges[0]?.name, 'plant-uplink');
    assert.equal(document.bridges[0]?.credentials?.username, 'uplink');
    assert.ok(!JSON.stringify(document).includes('uplink-secret'), 'no bridge password');
    assert.ok(!JSON.stringify(document).includes('scrypt$'), 'no password hash');
    assert.equal(typeof document.listeners.mqtt, 'object');
  });

  it('with includeSecrets carries the hashes, and a broker importing it lets the user log in with the same password', async (t) => {
    const { client } = await commissioned(t);
    const document = await client.call('config.export', { includeSecrets: true });
    assert.match(document.users.find((u) => u.name === 'olga')?.passwordHash ?? '', /^scrypt\$/);
    assert.ok(JSON.stringify(document).includes('uplink-secret'));

    const production = await startTestBroker({ security: { anonymous: false, firstRun: 'setup' } });
    t.after(production.cleanup);
    await production.broker.security.createUser('admin', 'other-admin-password', ['admin']);
    const target = createHttpClient(production.broker.httpUrl, {
      auth: { username: 'admin', password: 'other-admin-password' },
    });
    const result = await target.call('config.import', { document });
    assert.equal(result.applied, true);
    const token = await createHttpClient(production.broker.httpUrl).call('auth.login', {
      user: 'olga',
      password: 'olga-password',
    });
    assert.equal(token.user, 'olga');
    // The admin's hash came along too: production's admin now has the commissioning password.
    await assert.rejects(target.call('queues.get', { name: 'orders' }), (error: ApiError) => error.status === 401);
    target.setAuth({ username: 'admin', password: 'admin-password' });
    assert.equal((await target.call('queues.get', { name: 'orders' })).config.deadMessageQueue, 'orders-dmq');
  });

  it('needs manage on every queue, not only some', async (t) => {
    const { client, broker } = await commissioned(t);
    await client.call('roles.put', {
      name: 'queue-admin',
      rules: [{ actions: ['manage'], patterns: ['orders', 'plant/#', '$security'] }],
    });
    await client.call('users.create', { name: 'qa', password: 'qa-password', roles: ['queue-admin'] });
    const limited = createHttpClient(broker.httpUrl, { auth: { username: 'qa', password: 'qa-password' } });
    for (const attempt of [
      () => limited.call('config.export', {}),
      () => limited.call('config.import', { document: { format: 'sluice-config', version: 1 }, dryRun: true }),
      () => limited.call('config.rabbitmq', {}),
      () => limited.call('backup.start', {}),
    ])
      await assert.rejects(attempt(), (error: ApiError) => error.status === 403 && error.code === 'not-authorized');
  });
});

describe('config import', () => {
  it('prints a dry-run diff that changes nothing, then applies, and a second import changes nothing', async (t) => {
    const { client, broker, dir } = await commissioned(t);
    const file = join(dir, 'line.json');
    const exported = await runCli(['--url', broker.httpUrl, '--auth', 'admin:admin-password', 'config', 'export']);
    assert.equal(exported.code, 0, exported.stderr);
    const document = JSON.parse(exported.stdout) as ConfigDocument;
    document.queues[0]!.maxRedelivery = 5;
    document.queues.push({ ...document.queues[0]!, name: 'quality', subscriptions: ['plant/+/quality'] });
    document.roles[0]!.description = 'Line 1 and 2 operators';
    writeFileSync(file, JSON.stringify(document));
    const auth = ['--url', broker.httpUrl, '--auth', 'admin:admin-password'];

    const dry = await runCli([...auth, 'config', 'import', file, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /~ queue orders: update \(maxRedelivery\)/);
    assert.match(dry.stdout, /\+ queue quality: create/);
    assert.match(dry.stdout, /~ role line-operator: update \(description\)/);
    assert.equal(
      (await client.call('queues.get', { name: 'orders' })).config.maxRedelivery,
      3,
      'dry run applied nothing',
    );
    await assert.rejects(client.call('queues.get', { name: 'quality' }), /not found/i);

    const applied = await runCli([...auth, 'config', 'import', file]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Applied 3 change\(s\)/);
    assert.equal((await client.call('queues.get', { name: 'orders' })).config.maxRedelivery, 5);
    assert.deepEqual((await client.call('queues.get', { name: 'quality' })).config.subscriptions, ['plant/+/quality']);

    const again = await client.call('config.import', { document: JSON.parse(readFileSync(file, 'utf8')) });
    assert.deepEqual(
      again.changes.filter((change) => change.action !== 'unchanged' && change.kind !== 'listener'),
      [],
      'idempotent',
    );
  });

  it('refuses a document it does not understand with the path of the problem and applies nothing', async (t) => {
    const { client } = await commissioned(t);
    const base = await client.call('config.export', {});
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, version: 2 }, /version 2 is newer than this Sluice understands/],
      [{ ...base, format: 'rabbitmq' }, /format is "rabbitmq"/],
      [
        {
          ...base,
          queues: [
            { ...base.queues[0]!, name: 'new-one' },
            { ...base.queues[0]!, name: 'x', overflow: 'explode' },
          ],
        },
        /queues\[1\]\.overflow/,
      ],
      [{ ...base, surprise: true }, /unrecognized.*surprise|surprise/],
      [
        { ...base, users: [{ name: 'ghost', roles: ['no-such-role'], passwordHash: 'scrypt$1$1$1$AA$AA' }] },
        /no-such-role/,
      ],
    ];
    for (const [document, message] of cases) {
      await assert.rejects(
        client.call('config.import', { document: document as Record<string, unknown> }),
        (error: ApiError) => {
          assert.match(error.detail, message);
          assert.ok(['invalid-config-document', 'role-not-found'].includes(error.code), error.code);
          return true;
        },
      );
    }
    await assert.rejects(client.call('queues.get', { name: 'new-one' }), /not found/i);
  });

  it('undoes what it applied when a later step fails (all or nothing)', async (t) => {
    const { client, broker } = await commissioned(t);
    const document = await client.call('config.export', {});
    document.roles.push({ name: 'auditor', description: '', rules: [{ actions: ['browse'], patterns: ['#'] }] });
    // A queue whose configuration needs new pages (500 long filters); the disk fills up after the
    // roles, so creating it fails in the store.
    const filters = Array.from({ length: 500 }, (_, i) => `big/${'x'.repeat(400)}/${i}`);
    document.queues.push({ ...document.queues[0]!, name: 'big', subscriptions: filters });
    const db = broker.engine.store.database;
    const pages = db.pragma('page_count', { simple: true }) as number;
    broker.engine.store.setMaxPageCount(pages);
    try {
      await assert.rejects(client.call('config.import', { document }), (error: ApiError) => {
        assert.match(error.detail, /undone \([1-9]\d* of \d+ step\(s\) rolled back\)/);
        return true;
      });
    } finally {
      broker.engine.store.setMaxPageCount(1_000_000_000);
    }
    const roles = (await client.call('roles.list', {})).roles.map((role) => role.name);
    assert.ok(!roles.includes('auditor'), 'the role created before the failure is gone again');
    await assert.rejects(client.call('queues.get', { name: 'big' }), /not found/i);
  });

  it(
    'acts on live rights: a user whose roles an import takes away loses its open MQTT subscription',
    { timeout: 30_000 },
    async (t) => {
      const { client, broker } = await commissioned(t);
      const mqttUrl = broker.listeners.find((listener) => listener.name === 'mqtt')!.url.split(' ')[0]!;
      const olga = await mqtt.connectAsync(mqttUrl, {
        username: 'olga',
        password: 'olga-password',
        reconnectPeriod: 0,
      });
      t.after(() => olga.end(true));
      await olga.subscribeAsync('plant/line1/#', { qos: 1 });
      const closed = new Promise<void>((resolve) => olga.once('close', () => resolve()));
      const document = await client.call('config.export', {});
      document.users.find((user) => user.name === 'olga')!.roles = [];
      const result = await client.call('config.import', { document });
      assert.ok(result.applied);
      await closed; // as after users.update: the subscription it may no longer hold ends the connection
      assert.deepEqual((await client.call('users.list', {})).users.find((user) => user.name === 'olga')?.roles, []);
    },
  );

  it('carries push consumers: secrets only when asked, kept when redacted, skipped on a new broker without them', async (t) => {
    const { client } = await commissioned(t);
    await client.call('push.put', {
      queue: 'orders',
      name: 'mes-orders',
      url: 'http://127.0.0.1:9/orders',
      auth: { type: 'basic', username: 'mes', password: 'mes-secret' },
      enabled: false,
    });
    const plain = await client.call('config.export', {});
    const shown = plain.pushConsumers.find((push) => push.name === 'mes-orders');
    assert.deepEqual(shown?.auth, { type: 'basic', username: 'mes', password: '********' });
    const withSecrets = await client.call('config.export', { includeSecrets: true });
    assert.deepEqual(withSecrets.pushConsumers[0]?.auth, { type: 'basic', username: 'mes', password: 'mes-secret' });

    // Back into the same broker: unchanged, and the stored secret stays.
    const same = await client.call('config.import', { document: plain });
    assert.deepEqual(same.changes.find((change) => change.kind === 'push')?.action, 'unchanged');
    plain.pushConsumers[0]!.timeoutMs = 2500;
    const updated = await client.call('config.import', { document: plain });
    assert.deepEqual(
      updated.changes.find((change) => change.kind === 'push'),
      { kind: 'push', name: 'mes-orders', action: 'update', fields: ['timeoutMs'] },
    );
    const after = await client.call('config.export', { includeSecrets: true });
    assert.equal(after.pushConsumers[0]?.timeoutMs, 2500);
    assert.deepEqual(after.pushConsumers[0]?.auth, { type: 'basic', username: 'mes', password: 'mes-secret' });

    // Into a fresh broker: without secrets it is skipped with the reason, with them it is created.
    const fresh = await startTestBroker({ security: { anonymous: false, firstRun: 'setup' } });
    t.after(fresh.cleanup);
    await fresh.broker.security.createUser('admin', 'admin-password', ['admin']);
    const target = createHttpClient(fresh.broker.httpUrl, { auth: { username: 'admin', password: 'admin-password' } });
    const skipped = await target.call('config.import', { document: plain });
    assert.equal(skipped.changes.find((change) => change.kind === 'push')?.action, 'skip');
    assert.match(skipped.warnings.join('\n'), /push consumer "mes-orders" not applied: new here/);
    assert.deepEqual((await target.call('push.status', {})).pushConsumers, []);
    const created = await target.call('config.import', { document: withSecrets });
    assert.equal(created.changes.find((change) => change.kind === 'push')?.action, 'create');
    const copied = await target.call('config.export', { includeSecrets: true });
    assert.deepEqual(copied.pushConsumers, withSecrets.pushConsumers);

    // A push consumer on a queue nobody has is refused before anything is applied.
    const orphan = {
      ...withSecrets,
      pushConsumers: [{ ...withSecrets.pushConsumers[0]!, name: 'x', queue: 'nowhere' }],
    };
    await assert.rejects(target.call('config.import', { document: orphan }), (error: ApiError) => {
      assert.equal(error.code, 'queue-not-found');
      return true;
    });
  });

  it('publishes the document’s JSON Schema beside the OpenAPI document', async (t) => {
    const { client } = await commissioned(t);
    const schema = await client.call('config.schema', {});
    assert.deepEqual(schema, JSON.parse(JSON.stringify(configDocumentJsonSchema())));
    assert.deepEqual((schema as { required?: string[] }).required?.includes('format'), true);
  });
});
