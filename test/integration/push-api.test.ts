import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CallContext } from '../../core/api/service.ts';
import type { Broker } from '../../core/broker.ts';
import { main } from '../../core/cli.ts';
import type { SluiceError } from '../../core/errors.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { TestEndpoint } from './push-helpers.ts';

// Push consumers configured at run time: over HTTP, the CLI and the service layer (IPC), with
// security on. Who may set one up, what the API shows back (never a secret), the audit trail,
// /metrics, and a restart that keeps the configuration.

const users = { ops: 'ops-password', narrow: 'narrow-password' } as const;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function sluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'sluice', ...args], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe('push consumers through the API', () => {
  const endpoint = new TestEndpoint();
  let broker: Broker;
  let cleanup: () => Promise<void>;
  let admin: string;
  const secretDir = mkdtempSync(join(tmpdir(), 'sluice-push-secret-'));
  before(async () => {
    await endpoint.up();
    ({ broker, cleanup } = await startTestBroker({
      security: { anonymous: false },
      queues: [{ name: 'erp', subscriptions: ['plant/+/orders'] }],
    }));
    admin = basic('admin', broker.firstRunAdmin!.password);
    const { security } = broker;
    // ops may manage and consume the queue and subscribe to its topics; narrow only manages the queue.
    security.putRole('erp-ops', 'run the ERP queue', [
      { actions: ['manage', 'consume', 'browse'], patterns: ['erp'] },
      { actions: ['subscribe'], patterns: ['plant/#'] },
    ]);
    security.putRole('erp-manage-only', 'manage the ERP queue, not its topics', [
      { actions: ['manage', 'consume'], patterns: ['erp'] },
    ]);
    await security.createUser('ops', users.ops, ['erp-ops']);
    await security.createUser('narrow', users.narrow, ['erp-manage-only']);
  });
  after(async () => {
    await cleanup();
    await endpoint.down();
    rmSync(secretDir, { recursive: true, force: true });
  });

  const http = (path: string, init: RequestInit & { auth?: string } = {}) =>
    fetch(`${broker.httpUrl}${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', authorization: init.auth ?? admin, ...init.headers },
    });

  it('a user with manage on the queue but not subscribe on its topics may not point it at an endpoint', async () => {
    const context: CallContext = { principal: { user: 'narrow', protocol: 'ipc' } };
    await assert.rejects(
      broker.service.call('push.put', { queue: 'erp', name: 'sap', url: endpoint.url }, context),
      (error: SluiceError) => error.code === 'not-authorized' && /subscribe "plant\/\+\/orders"/.test(error.detail),
    );
    const answer = await http('/api/v1/queues/erp/push', {
      method: 'POST',
      auth: basic('narrow', users.narrow),
      body: JSON.stringify({ name: 'sap', url: endpoint.url }),
    });
    assert.equal(answer.status, 403);
    assert.equal((await broker.service.call('push.status', {})).pushConsumers.length, 0);
  });

  it('created over HTTP with a bearer token: delivers with it, never shows it back, and is audited', async () => {
    const answer = await http('/api/v1/queues/erp/push', {
      method: 'POST',
      auth: basic('ops', users.ops),
      body: JSON.stringify({
        name: 'sap',
        url: endpoint.url,
        method: 'PUT',
        headers: { 'x-system': 'sluice' },
        auth: { type: 'bearer', token: 's3cret-token' },
      }),
    });
    assert.equal(answer.status, 200, await answer.clone().text());
    const view = (await answer.json()) as { config: { auth: { token: string } } };
    assert.equal(view.config.auth.token, '********');

    await broker.engine.publish({ topic: 'plant/l1/orders', payload: 'order-1' });
    await waitFor(() => endpoint.acked().length === 1, { what: 'delivered' });
    const request = endpoint.seen[0]!;
    assert.equal(request.method, 'PUT');
    assert.equal(request.headers.authorization, 'Bearer s3cret-token');
    assert.equal(request.headers['x-system'], 'sluice');

    const listed = await (await http('/api/v1/queues/erp/push')).text();
    assert.ok(!listed.includes('s3cret-token'), 'the list never carries the token');
    assert.match(listed, /\*{8}/);
    const audit = broker.security.audit.query({ operation: 'push.put', limit: 10 });
    assert.deepEqual(
      audit.map((r) => [r.user, r.result]).sort(),
      [
        ['narrow', 'refused'],
        ['narrow', 'refused'],
        ['ops', 'ok'],
      ],
      'the IPC and HTTP refusals and the creation',
    );
    assert.ok(audit.some((r) => r.user === 'ops' && r.result === 'ok' && r.resource === 'erp'));
  });

  it('an update that leaves the token out (or sends it back redacted) keeps the stored one', async () => {
    const answer = await http('/api/v1/queues/erp/push', {
      method: 'POST',
      body: JSON.stringify({ name: 'sap', url: endpoint.url, auth: { type: 'bearer', token: '********' } }),
    });
    assert.equal(answer.status, 200, await answer.clone().text());
    await broker.engine.publish({ topic: 'plant/l1/orders', payload: 'order-2' });
    await waitFor(() => endpoint.acked().length === 2, { what: 'second delivery' });
    assert.equal(endpoint.seen[1]!.headers.authorization, 'Bearer s3cret-token');
    assert.equal(endpoint.seen[1]!.method, 'POST');
  });

  it('the CLI sets, lists, shows the status of and deletes push consumers', async () => {
    const secretFile = join(secretDir, 'password');
    writeFileSync(secretFile, 'basic-pass\n');
    const auth = ['--url', broker.httpUrl, '--auth', `ops:${users.ops}`];
    const set = await sluice([
      ...auth,
      'push',
      'set',
      'erp',
      'mes',
      '--target',
      endpoint.url,
      '--basic-auth',
      'mes-user',
      '--secret-file',
      secretFile,
      '--concurrency',
      '2',
      '--reject-statuses',
      '400,409,422',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /Push consumer mes on erp/);
    const list = await sluice([...auth, 'push', 'list', 'erp']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /mes\s+POST\s+http:\/\/127\.0\.0\.1:\d+\/ingest\s+basic\s+2/);
    assert.ok(!list.stdout.includes('basic-pass'));
    const json = await sluice([...auth, '--json', 'push', 'list', 'erp']);
    assert.ok(!json.stdout.includes('basic-pass'), 'not even in --json');

    // Two push consumers on one queue share its messages (competing consumers, round robin).
    const before = endpoint.seen.length;
    for (let i = 0; i < 4; i++) await broker.engine.publish({ topic: 'plant/l2/orders', payload: `order-3.${i}` });
    await waitFor(() => endpoint.acked().length - 2 >= 4, { what: 'four more delivered' });
    const toMes = endpoint.seen.slice(before).filter((r) => r.headers.authorization?.startsWith('Basic '));
    assert.ok(toMes.length > 0 && toMes.length < 4, `mes took ${toMes.length} of 4, sap the rest`);
    assert.equal(toMes[0]!.headers.authorization, basic('mes-user', 'basic-pass'));

    const status = await sluice([...auth, 'push', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^PUSH\s+QUEUE\s+STATE/);
    assert.match(status.stdout, /\nmes\s+erp\s+delivering/);

    const deleted = await sluice([...auth, 'push', 'delete', 'erp', 'mes']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await sluice([...auth, 'push', 'delete', 'erp', 'mes']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Push consumer not found/);
  });

  it('a push consumer of another queue cannot be taken over by naming it on a queue one manages', async () => {
    await broker.service.call('queues.create', { name: 'other', subscriptions: ['office/#'] });
    await broker.service.call('push.put', { queue: 'other', name: 'office-hook', url: endpoint.url });
    const context: CallContext = { principal: { user: 'ops', protocol: 'ipc' } };
    await assert.rejects(
      broker.service.call('push.put', { queue: 'erp', name: 'office-hook', url: endpoint.url }, context),
      (error: SluiceError) => error.code === 'not-authorized' && /manage "other"/.test(error.detail),
    );
    const [kept] = (await broker.service.call('push.list', { queue: 'other' })).pushConsumers;
    assert.equal(kept?.config.name, 'office-hook');
    await broker.service.call('push.delete', { queue: 'other', name: 'office-hook' });
  });

  it('/metrics carries one series per push consumer', async () => {
    const text = await (await http('/metrics')).text();
    assert.match(text, /sluice_push_delivered_total\{push="sap",queue="erp"\} [1-9]/);
    assert.match(text, /sluice_push_up\{push="sap",queue="erp"\} 1/);
  });
});

describe('push consumers across a restart', () => {
  it('one created through the API is still there, running, after a restart; one removed from the file is gone', async () => {
    const endpoint = new TestEndpoint();
    await endpoint.up();
    const first = await startTestBroker({
      queues: [{ name: 'erp', subscriptions: ['plant/#'] }],
      push: [{ name: 'from-file', queue: 'erp', url: endpoint.url, enabled: false }],
    });
    try {
      await first.broker.service.call('push.put', {
        queue: 'erp',
        name: 'sap',
        url: endpoint.url,
        auth: { type: 'header', name: 'x-api-key', value: 'k-123' },
      });
      await first.broker.close();
      const { createBroker } = await import('../../core/broker.ts');
      const { loadConfig } = await import('../../core/config.ts');
      const { silentLogger } = await import('../../core/log.ts');
      const { testBrokerFlags } = await import('../helpers/broker.ts');
      const again = await createBroker(loadConfig({ env: {}, flags: testBrokerFlags(first.dir) }), {
        logger: silentLogger(),
      });
      try {
        const listed = (await again.service.call('push.list', { queue: 'erp' })).pushConsumers;
        assert.deepEqual(
          listed.map((v) => v.config.name),
          ['sap'],
        );
        const [view] = listed;
        assert.equal(view?.config.name, 'sap');
        assert.equal(view?.source, 'api');
        await again.engine.publish({ topic: 'plant/x', payload: 'after-restart' });
        await waitFor(() => endpoint.acked().includes('after-restart'), { what: 'delivered after restart' });
        assert.equal(endpoint.seen.at(-1)!.headers['x-api-key'], 'k-123');
      } finally {
        await again.close();
      }
    } finally {
      await first.cleanup();
      await endpoint.down();
    }
  });
});
