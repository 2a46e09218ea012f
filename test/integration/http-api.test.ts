// The HTTP API over real sockets and real SQLite: every operation group, with fetch and curl,
// and the bad-input matrix (each refusal is problem+json with the catalog's status).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { contract, type OperationName } from '../../core/api/contract.ts';
import { createBroker, type Broker } from '../../core/broker.ts';
import { loadConfig, type ConfigInput } from '../../core/config.ts';
import { testBrokerFlags } from '../helpers/broker.ts';
import { silentLogger } from '../../core/log.ts';
import { tempDir } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { peerSkip } from '../helpers/peers.ts';

const run = promisify(execFile);
/** Answers are checked against the contract's schemas; tests then read them freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function startBroker(dir: string, flags: ConfigInput = {}): Promise<Broker> {
  const config = loadConfig({ env: {}, flags: testBrokerFlags(dir, flags) });
  return createBroker(config, { logger: silentLogger(), rateIntervalMs: 50 });
}

/** Calls the API with fetch; checks a success against the operation's output schema. */
async function api(base: string, method: string, path: string, body?: unknown, op?: OperationName) {
  const response = await fetch(base + path, {
    method,
    ...(body !== undefined && {
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    }),
  });
  const text = await response.text();
  const json = text === '' ? undefined : (JSON.parse(text.split('\n')[0]!) as Record<string, unknown>);
  if (op && response.ok) contract[op].output.parse(json);
  return { status: response.status, type: response.headers.get('content-type'), json: json as Json, text };
}

/** The same through curl: status, content type and body. */
async function curl(args: string[]): Promise<{ status: number; type: string; json: Json }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code} %{content_type}', ...args]);
  const lines = stdout.split('\n');
  const [status, type] = lines.pop()!.split(' ');
  return { status: Number(status), type: type ?? '', json: JSON.parse(lines.join('\n')) };
}

function assertProblem(answer: { status: number; type: string | null; json: Json }, status: number, code: string) {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.type, 'application/problem+json');
  assert.equal(answer.json.code, code);
  assert.equal(answer.json.status, status);
  assert.equal(typeof answer.json.title, 'string');
  assert.equal(typeof answer.json.detail, 'string');
  assert.equal(answer.json.type, `urn:sluice:problem:${code}`);
}

describe('HTTP API', { skip: peerSkip('curl') }, () => {
  const { dir, cleanup } = tempDir();
  let broker: Broker;
  let base: string;
  before(async () => {
    broker = await startBroker(dir, {
      limits: { maxMessageBytes: 64 * 1024 },
      http: { port: 0, maxBodyBytes: 256 * 1024 },
    });
    base = broker.httpUrl;
  });
  after(async () => {
    await broker.close();
    cleanup();
  });

  describe('queues', () => {
    it('a queue created over HTTP can be listed, shown, updated, browsed, purged and deleted', async () => {
      const created = await api(
        base,
        'POST',
        '/api/v1/queues',
        { name: 'orders', subscriptions: ['plant/+/orders'] },
        'queues.create',
      );
      assert.equal(created.status, 201);
      assert.equal(created.json.config.maxRedelivery, 10);

      const listed = await api(base, 'GET', '/api/v1/queues', undefined, 'queues.list');
      assert.deepEqual(
        listed.json.queues.map((q: { name: string }) => q.name),
        ['orders'],
      );

      const updated = await api(base, 'PATCH', '/api/v1/queues/orders', { maxRedelivery: 3 }, 'queues.update');
      assert.equal(updated.json.config.maxRedelivery, 3);
      assert.deepEqual(updated.json.config.subscriptions, ['plant/+/orders'], 'fields not given keep their value');

      for (const n of [1, 2, 3])
        await api(base, 'POST', '/api/v1/messages', { topic: 'plant/a/orders', payload: `m${n}` });
      const page = await api(base, 'GET', '/api/v1/queues/orders/messages?limit=2', undefined, 'queues.browse');
      assert.deepEqual(
        page.json.messages.map((e: { message: { payload: string } }) => e.message.payload),
        ['m1', 'm2'],
      );
      const rest = await api(
        base,
        'GET',
        `/api/v1/queues/orders/messages?afterEntryId=${page.json.nextAfterEntryId}`,
        undefined,
        'queues.browse',
      );
      assert.deepEqual(
        rest.json.messages.map((e: { message: { payload: string } }) => e.message.payload),
        ['m3'],
      );
      assert.equal(rest.json.nextAfterEntryId, null);

      const shown = await curl([`${base}/api/v1/queues/orders`]);
      assert.equal(shown.status, 200);
      assert.equal(shown.json.depth, 3);

      const purged = await api(base, 'POST', '/api/v1/queues/orders/messages:purge', undefined, 'queues.purge');
      assert.equal(purged.json.purged, 3);
      const deleted = await curl(['-X', 'DELETE', `${base}/api/v1/queues/orders`]);
      assert.deepEqual(deleted.json, { name: 'orders', deleted: true });
      assertProblem(await api(base, 'GET', '/api/v1/queues/orders'), 404, 'queue-not-found');
    });

    it('a queue name with a slash is one URI-encoded path segment', async () => {
      await api(base, 'POST', '/api/v1/queues', { name: 'mqtt/plc-7' }, 'queues.create');
      const shown = await api(base, 'GET', '/api/v1/queues/mqtt%2Fplc-7', undefined, 'queues.get');
      assert.equal(shown.json.name, 'mqtt/plc-7');
      await api(base, 'DELETE', '/api/v1/queues/mqtt%2Fplc-7', undefined, 'queues.delete');
    });

    it('deleting a queue with a consumer attached needs force', async () => {
      await api(base, 'POST', '/api/v1/queues', { name: 'busy' });
      broker.engine.consume('busy', { onDelivery: () => {} });
      assertProblem(await api(base, 'DELETE', '/api/v1/queues/busy'), 409, 'queue-in-use');
      const forced = await api(base, 'DELETE', '/api/v1/queues/busy?force=true', undefined, 'queues.delete');
      assert.equal(forced.status, 200);
    });
  });

  describe('messages', () => {
    it('utf8 payloads come back as text and binary payloads as base64, properties kept', async () => {
      await api(base, 'POST', '/api/v1/queues', { name: 'payloads', subscriptions: ['bytes/#'] });
      const text = await api(
        base,
        'POST',
        '/api/v1/messages',
        {
          topic: 'bytes/text',
          payload: 'grüße',
          contentType: 'text/plain',
          headers: { line: '7' },
          priority: 9,
          ttlMs: 60_000,
          correlationId: 'c-1',
          dmqEligible: false,
        },
        'messages.publish',
      );
      assert.equal(text.status, 201);
      assert.deepEqual(text.json.queues, ['payloads']);
      assert.match(text.json.id, /^\d+$/);
      const binary = await curl([
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '-d',
        '{"topic":"bytes/bin","payload":"/wD+","payloadEncoding":"base64"}',
        `${base}/api/v1/messages`,
      ]);
      assert.equal(binary.status, 201);

      const { json } = await api(base, 'GET', '/api/v1/queues/payloads/messages', undefined, 'queues.browse');
      const [first, second] = json.messages.map((e: { message: unknown }) => e.message);
      assert.equal(first.payload, 'grüße');
      assert.equal(first.payloadEncoding, 'utf8');
      assert.equal(first.contentType, 'text/plain');
      assert.deepEqual(first.headers, { line: '7' });
      assert.equal(first.priority, 9);
      assert.equal(first.correlationId, 'c-1');
      assert.equal(first.dmqEligible, false);
      assert.ok(first.expiresAt > Date.now());
      assert.deepEqual([second.payload, second.payloadEncoding], ['/wD+', 'base64']);
    });

    it('a message acknowledged over HTTP is still there after the broker restarts', async () => {
      const { dir: ownDir, cleanup: removeDir } = tempDir();
      let own = await startBroker(ownDir, { queues: [{ name: 'kept', subscriptions: ['kept'] }] });
      const published = await api(own.httpUrl, 'POST', '/api/v1/messages', { topic: 'kept', payload: 'durable' });
      assert.equal(published.status, 201);
      await own.close();
      own = await startBroker(ownDir, { queues: [{ name: 'kept', subscriptions: ['kept'] }] });
      const { json } = await api(own.httpUrl, 'GET', '/api/v1/queues/kept/messages', undefined, 'queues.browse');
      assert.deepEqual(
        json.messages.map((e: { message: { id: string } }) => e.message.id),
        [published.json.id],
      );
      await own.close();
      removeDir();
    });
  });

  describe('dead messages', () => {
    it('overflowed messages can be listed, filtered, inspected, counted, exported, redelivered and purged', async () => {
      await api(base, 'POST', '/api/v1/queues', {
        name: 'tiny',
        subscriptions: ['tiny/#'],
        maxDepthMessages: 1,
        overflow: 'dead-letter',
      });
      for (const topic of ['tiny/keep', 'tiny/a', 'tiny/b', 'tiny/a'])
        await api(base, 'POST', '/api/v1/messages', { topic, payload: topic });

      const all = await api(base, 'GET', '/api/v1/dead-messages?queue=tiny', undefined, 'dmq.list');
      assert.equal(all.json.deadMessages.length, 3);
      assert.equal(all.json.deadMessages[0].reason, 'overflow');
      const filtered = await curl([`${base}/api/v1/dead-messages?topic=tiny%2Fa&reason=overflow&limit=1`]);
      assert.equal(filtered.json.deadMessages.length, 1);
      assert.equal(filtered.json.deadMessages[0].message.topic, 'tiny/a');
      const next = await api(
        base,
        'GET',
        `/api/v1/dead-messages?topic=tiny%2Fa&afterId=${filtered.json.nextAfterId}`,
        undefined,
        'dmq.list',
      );
      assert.equal(next.json.deadMessages.length, 1);
      const later = await api(
        base,
        'GET',
        `/api/v1/dead-messages?deadFrom=${Date.now() + 60_000}`,
        undefined,
        'dmq.list',
      );
      assert.equal(later.json.deadMessages.length, 0, 'time range filters');

      const id = all.json.deadMessages[0].id as string;
      const one = await api(base, 'GET', `/api/v1/dead-messages/${id}`, undefined, 'dmq.get');
      assert.equal(one.json.queue, 'tiny');
      const counts = await api(base, 'GET', '/api/v1/dead-messages:counts', undefined, 'dmq.counts');
      assert.deepEqual(counts.json.counts, [{ dmq: '#DMQ', queue: 'tiny', count: 3 }]);

      const exported = await fetch(`${base}/api/v1/dead-messages:export?queue=tiny`);
      assert.equal(exported.headers.get('content-type'), 'application/x-ndjson');
      const lines = (await exported.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      assert.equal(lines.length, 3);
      for (const line of lines) contract['dmq.export'].output.parse(line);

      await api(base, 'POST', '/api/v1/queues/tiny/messages:purge');
      const redelivered = await api(base, 'POST', '/api/v1/dead-messages:redeliver', { ids: [id] }, 'dmq.redeliver');
      assert.deepEqual(redelivered.json, { redelivered: 1, failed: [] });
      const full = await api(
        base,
        'POST',
        '/api/v1/dead-messages:redeliver',
        { filter: { queue: 'tiny' } },
        'dmq.redeliver',
      );
      assert.equal(full.json.redelivered, 0);
      assert.deepEqual(
        full.json.failed.map((f: { code: string }) => f.code),
        ['queue-full', 'queue-full'],
      );
      const purged = await curl(['-X', 'POST', '-d', '{"all":true}', `${base}/api/v1/dead-messages:purge`]);
      assert.deepEqual(purged.json, { purged: 2 });
    });
  });

  describe('replay', () => {
    it('a replay from the beginning copies the log into a new queue; it can be read, listed and cancelled', async () => {
      for (const n of [1, 2]) await api(base, 'POST', '/api/v1/messages', { topic: `replay/${n}`, payload: `r${n}` });
      const started = await api(
        base,
        'POST',
        '/api/v1/replays',
        {
          target: { queue: 'replayed', create: {} },
          start: { kind: 'beginning' },
          topicFilter: 'replay/#',
        },
        'replay.start',
      );
      assert.equal(started.status, 201);
      const id = started.json.id as string;
      await waitFor(async () => (await api(base, 'GET', `/api/v1/replays/${id}`)).json.state === 'completed', {
        what: 'replay done',
      });
      const status = await api(base, 'GET', `/api/v1/replays/${id}`, undefined, 'replay.get');
      assert.equal(status.json.replayed, 2);
      const list = await api(base, 'GET', '/api/v1/replays', undefined, 'replay.list');
      assert.ok(list.json.replays.some((r: { id: string }) => r.id === id));
      const cancelled = await curl(['-X', 'POST', `${base}/api/v1/replays/${id}:cancel`]);
      assert.equal(cancelled.json.state, 'completed', 'cancelling a finished replay changes nothing');
      const copies = await api(base, 'GET', '/api/v1/queues/replayed/messages', undefined, 'queues.browse');
      assert.equal(copies.json.messages[0].message.headers['sluice-replayed'], 'true');
    });

    it('a replay from a message id the log never had answers message-not-found', async () => {
      const answer = await api(base, 'POST', '/api/v1/replays', {
        target: { queue: 'replayed' },
        start: { kind: 'message-id', id: '999999' },
      });
      assertProblem(answer, 404, 'message-not-found');
    });
  });

  describe('stats and health', () => {
    it('stats show counters, storage, per-queue state and rates under load', async () => {
      await api(base, 'POST', '/api/v1/queues', { name: 'rated', subscriptions: ['rated'] });
      await waitFor(
        async () => {
          await api(base, 'POST', '/api/v1/messages', { topic: 'rated', payload: 'x' });
          const { json } = await api(base, 'GET', '/api/v1/stats', undefined, 'stats.get');
          const rated = json.queues.find((q: { name: string }) => q.name === 'rated');
          return json.rates.inPerSec > 0 && rated.rates.inPerSec > 0;
        },
        { what: 'non-zero rates' },
      );
      const { json } = await api(base, 'GET', '/api/v1/stats', undefined, 'stats.get');
      assert.ok(json.broker.published > 0);
      assert.ok(json.storage.databaseBytes > 0);
      assert.match(json.storage.logStartId, /^\d+$/);
    });

    it('liveness, readiness, health and the OpenAPI document answer', async () => {
      assert.equal((await api(base, 'GET', '/healthz')).status, 200);
      assert.equal((await api(base, 'GET', '/readyz')).status, 200);
      const health = await api(base, 'GET', '/api/v1/health', undefined, 'health');
      assert.equal(health.json.status, 'ok');
      const doc = await curl([`${base}/api/v1/openapi.json`]);
      assert.equal(doc.json.openapi, '3.1.0');
      assert.ok(doc.json.paths['/api/v1/queues/{name}'].patch);
    });
  });

  describe('bad input is refused with problem+json and never crashes the broker', () => {
    const huge = JSON.stringify({ topic: 'a', payload: 'x'.repeat(300 * 1024) });
    const cases: Array<[string, string, string, unknown, number, string]> = [
      ['bad JSON', 'POST', '/api/v1/messages', '{"topic":', 400, 'invalid-input'],
      ['a JSON array body', 'POST', '/api/v1/messages', '[1,2]', 400, 'invalid-input'],
      ['a body over http.maxBodyBytes', 'POST', '/api/v1/messages', huge, 413, 'payload-too-large'],
      [
        'a message over limits.maxMessageBytes',
        'POST',
        '/api/v1/messages',
        { topic: 'a', payload: 'x'.repeat(70 * 1024) },
        413,
        'payload-too-large',
      ],
      ['an unknown route', 'GET', '/api/v1/nothing', undefined, 404, 'route-not-found'],
      ['a wrong method', 'PUT', '/api/v1/queues', {}, 405, 'method-not-allowed'],
      ['an unknown queue', 'GET', '/api/v1/queues/ghost', undefined, 404, 'queue-not-found'],
      ['an invalid queue name in the path', 'GET', '/api/v1/queues/a%20b', undefined, 400, 'invalid-queue-name'],
      ['an invalid queue name in the body', 'POST', '/api/v1/queues', { name: 'a#b' }, 400, 'invalid-queue-name'],
      ['an invalid topic', 'POST', '/api/v1/messages', { topic: 'a/+/c' }, 400, 'invalid-topic'],
      [
        'an invalid topic filter',
        'POST',
        '/api/v1/queues',
        { name: 'q', subscriptions: ['a/#/b'] },
        400,
        'invalid-topic-filter',
      ],
      ['an unknown field', 'POST', '/api/v1/queues', { name: 'q', maxDepth: 5 }, 400, 'invalid-input'],
      ['a missing field', 'POST', '/api/v1/messages', {}, 400, 'invalid-input'],
      ['a non-numeric limit', 'GET', '/api/v1/dead-messages?limit=lots', undefined, 400, 'invalid-input'],
      [
        'bad base64',
        'POST',
        '/api/v1/messages',
        { topic: 'a', payload: '%%%', payloadEncoding: 'base64' },
        400,
        'invalid-input',
      ],
      ['malformed URI encoding', 'GET', '/api/v1/queues/%E0%A4%A', undefined, 400, 'invalid-input'],
      ['an unknown dead message', 'GET', '/api/v1/dead-messages/424242', undefined, 404, 'dead-message-not-found'],
      ['an unknown replay', 'GET', '/api/v1/replays/424242', undefined, 404, 'replay-not-found'],
      ['a malformed id', 'GET', '/api/v1/replays/abc', undefined, 400, 'invalid-input'],
      ['an empty DMQ selection', 'POST', '/api/v1/dead-messages:purge', { filter: {} }, 400, 'invalid-input'],
      ['an existing queue created again', 'POST', '/api/v1/queues', { name: 'payloads' }, 409, 'queue-exists'],
    ];
    for (const [what, method, path, body, status, code] of cases)
      it(`${what} → ${status} ${code}`, async () => {
        assertProblem(await api(base, method, path, body), status, code);
      });

    it('curl sees the same refusals, including a large upload refused before it is sent', async () => {
      const file = join(dir, 'huge.json');
      writeFileSync(file, huge);
      assertProblem(
        await curl(['-X', 'POST', '--data-binary', `@${file}`, `${base}/api/v1/messages`]),
        413,
        'payload-too-large',
      );
      assertProblem(
        await curl([
          '-X',
          'POST',
          '-H',
          'transfer-encoding: chunked',
          '--data-binary',
          `@${file}`,
          `${base}/api/v1/messages`,
        ]),
        413,
        'payload-too-large',
      );
      assertProblem(await curl(['-X', 'POST', '-d', '{nope', `${base}/api/v1/messages`]), 400, 'invalid-input');
      assertProblem(await curl([`${base}/api/v1/nothing`]), 404, 'route-not-found');
      assertProblem(
        await curl(['-X', 'POST', '-d', '{"topic":"a/#"}', `${base}/api/v1/messages`]),
        400,
        'invalid-topic',
      );
    });

    it('the broker still answers after the whole matrix', async () => {
      assert.equal((await api(base, 'GET', '/api/v1/health', undefined, 'health')).json.status, 'ok');
    });
  });
});
