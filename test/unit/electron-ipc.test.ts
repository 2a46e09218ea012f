/**
 * The contract over IPC without Electron: request checking, operation routing, errors as plain
 * problem data, batched and bounded live events, and the window's login: every call runs as the
 * user the window logged in as, authorized by the real service as over HTTP. Only ipcMain's
 * registration is left out (main.ts wires IpcSession to it); calls go to a real broker. Also
 * checks, at compile time, that the main process's answer type is what the renderer's bridge expects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BrokerEvent } from '../../core/api/contract.ts';
import type { IpcEvents } from '../../electron/channel.ts';
import type { Broker } from '../../core/broker.ts';
import { IpcSession, parseIpcRequest, tokenKeptByMainProcess, type IpcAnswer } from '../../electron/ipc.ts';
import type { BridgeAnswer } from '../../renderer/src/api/bridge.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';

// The renderer reads exactly what the main process answers (a type error here is a drift).
const _answersAgree: (answer: IpcAnswer) => BridgeAnswer = (answer) => answer;

describe('IPC requests', () => {
  test('only the three request kinds with the right field types are accepted', () => {
    assert.deepEqual(parseIpcRequest({ kind: 'call', op: 'health', input: {} }), {
      kind: 'call',
      op: 'health',
      input: {},
    });
    assert.deepEqual(parseIpcRequest({ kind: 'subscribe', id: 3, stream: 'events.stream', input: { stats: true } }), {
      kind: 'subscribe',
      id: 3,
      stream: 'events.stream',
      input: { stats: true },
    });
    assert.deepEqual(parseIpcRequest({ kind: 'unsubscribe', id: 3 }), { kind: 'unsubscribe', id: 3 });
    for (const bad of [
      null,
      'health',
      { kind: 'call' },
      { kind: 'call', op: 7 },
      { kind: 'subscribe', id: 1.5, stream: 'events.stream' },
      { kind: 'unsubscribe', id: '1' },
      { kind: 'eval', code: 'process.exit()' },
    ])
      assert.equal(parseIpcRequest(bad), undefined, JSON.stringify(bad));
  });
});

describe('IPC against a real broker', () => {
  let ctx: Awaited<ReturnType<typeof startTestBroker>>;
  // Anonymous access on (with the admin role): the window needs no login on this broker.
  let session: IpcSession;
  before(async () => {
    ctx = await startTestBroker({}, { rateIntervalMs: 50 });
    session = new IpcSession(ctx.broker.service, () => undefined);
  });
  after(() => ctx?.cleanup());

  test('an operation runs through the service and answers its output', async () => {
    const created = await session.call('queues.create', { name: 'orders', subscriptions: ['a/#'] });
    assert.equal(created.ok, true);
    const listed = await session.call('queues.list', {});
    assert.ok(listed.ok);
    assert.deepEqual(
      (listed.value as { queues: { name: string }[] }).queues.map((q) => q.name),
      ['orders'],
    );
  });

  test('a refusal is a problem with the catalog status and code, not a thrown error', async () => {
    const missing = await session.call('queues.get', { name: 'nope' });
    assert.equal(missing.ok, false);
    if (missing.ok) return;
    assert.equal(missing.problem.code, 'queue-not-found');
    assert.equal(missing.problem.status, 404);
    assert.match(missing.problem.detail, /nope/);

    const invalid = await session.call('queues.create', { name: 'bad name' });
    assert.ok(!invalid.ok && invalid.problem.code === 'invalid-queue-name');
  });

  test('unknown operation names and event operations are refused by call', async () => {
    for (const op of ['constructor', '__proto__', 'queues.drop', 'events.stream']) {
      const answer = await session.call(op, {});
      assert.ok(!answer.ok && answer.problem.code === 'route-not-found', op);
    }
  });

  test('a streamed operation (export) answers its lines as an array', async () => {
    const answer = await session.call('dmq.export', {});
    assert.ok(answer.ok);
    assert.deepEqual(answer.value, []);
  });

  test('live events arrive batched, and stop when unsubscribed', async () => {
    const sent: IpcEvents[] = [];
    const window = new IpcSession(ctx.broker.service, (message) => sent.push(message), { flushMs: 20, maxBatch: 1000 });
    await window.subscribe(7, 'events.stream', { topics: ['a/#'] });
    for (let i = 0; i < 20; i++) await window.call('messages.publish', { topic: `a/${i}` });
    const events = () => sent.flatMap((batch) => batch.events as BrokerEvent[]);
    await waitFor(() => events().length === 20, { what: '20 message events' });
    assert.ok(sent.every((batch) => batch.id === 7));
    assert.ok(sent.length < 20, 'events share IPC messages');

    window.unsubscribe(7);
    assert.equal(window.subscriptions.size, 0);
    await window.call('messages.publish', { topic: 'a/late' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(events().length, 20);
  });

  test('a full batch drops events and says how many, like the HTTP door', async () => {
    const sent: IpcEvents[] = [];
    const window = new IpcSession(ctx.broker.service, (message) => sent.push(message), { flushMs: 200, maxBatch: 5 });
    await window.subscribe(1, 'events.stream', { topics: ['b/#'] });
    await Promise.all(Array.from({ length: 12 }, (_, i) => window.call('messages.publish', { topic: `b/${i}` })));
    await waitFor(() => sent.length > 0, { what: 'a batch' });
    const events = sent.flatMap((batch) => batch.events as BrokerEvent[]);
    const dropped = events.find((event) => event.type === 'dropped');
    assert.equal(events.filter((event) => event.type === 'message').length, 5);
    assert.deepEqual(dropped, { type: 'dropped', dropped: 7, totalDropped: 7 });
    window.close();
  });

  test('subscribing to something that is not an event operation is refused', async () => {
    const window = new IpcSession(ctx.broker.service, () => undefined);
    await assert.rejects(window.subscribe(1, 'queues.list', {}), { code: 'invalid-input' });
    await assert.rejects(window.subscribe(1, 'events.stream', { topics: ['a/#/b'] }), {
      code: 'invalid-topic-filter',
    });
    assert.equal(window.subscriptions.size, 0);
  });
});

describe('IPC login on a broker with security on and anonymous off', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  /** Every token the service issued, seen by wrapping the real service (the renderer never sees one). */
  const issued: string[] = [];
  let service: Broker['service'];
  const adminPassword = 'first-run-admin-pw';
  const viewerPassword = 'viewer-password';
  before(async () => {
    ({ broker, cleanup } = await startTestBroker({ security: { anonymous: false, firstRun: 'setup' } }));
    const real = broker.service;
    service = Object.create(real, {
      call: {
        value: async (...args: Parameters<typeof real.call>) => {
          const value = await real.call(...args);
          if (args[0] === 'auth.login' || args[0] === 'auth.setup') issued.push((value as { token: string }).token);
          return value;
        },
      },
    }) as typeof real;
  });
  after(() => cleanup?.());

  /** The token is live when the HTTP door would accept it. */
  const tokenLive = (token: string) =>
    broker.service.policy.authenticate({ protocol: 'http', token }).then(
      () => true,
      () => false,
    );
  const problem = (answer: IpcAnswer) => (answer.ok ? undefined : answer.problem);

  test('before any login a call is refused as not authenticated (401); the public status answers', async () => {
    const window = new IpcSession(service, () => undefined);
    assert.deepEqual(problem(await window.call('queues.list', {}))?.status, 401);
    assert.equal(problem(await window.call('queues.list', {}))?.code, 'not-authenticated');
    assert.equal(problem(await window.call('users.create', { name: 'x', password: 'password-x' }))?.status, 401);
    await assert.rejects(window.subscribe(1, 'events.stream', {}), { code: 'not-authenticated' });
    const status = await window.call('auth.status', {});
    assert.deepEqual(status, { ok: true, value: { setupRequired: true, anonymous: false } });
  });

  test('first run: auth.setup over IPC creates the admin and logs the window in; the token stays in the main process', async () => {
    const window = new IpcSession(service, () => undefined);
    const answer = await window.call('auth.setup', { user: 'admin', password: adminPassword });
    assert.ok(answer.ok, JSON.stringify(answer));
    const value = answer.value as { token: string; user: string; expiresAt: number };
    assert.equal(value.token, tokenKeptByMainProcess);
    assert.equal(value.user, 'admin');
    assert.ok(value.expiresAt > Date.now());
    assert.equal(issued.length, 1);
    assert.ok(!JSON.stringify(answer).includes(issued[0]!), 'the real token never reaches the renderer');
    assert.deepEqual(await window.call('auth.whoami', {}), {
      ok: true,
      value: { user: 'admin', protocol: 'ipc', roles: ['admin'] },
    });
    assert.ok((await window.call('users.create', { name: 'vera', password: viewerPassword, roles: ['viewer'] })).ok);
    // Setup is closed now, over IPC as over HTTP.
    const again = new IpcSession(service, () => undefined);
    assert.equal(problem(await again.call('auth.setup', { user: 'eve', password: 'eve-password' }))?.status, 403);
    // The audit log names the IPC user, as it names an HTTP one.
    const audit = await broker.service.call('audit.list', { operation: 'users.create' });
    assert.ok(audit.records.some((r) => r.user === 'admin' && r.protocol === 'ipc' && r.result === 'ok'));
    window.close();
  });

  test('a viewer is refused a manage operation (403 naming the permission) and may do what its role grants', async () => {
    const window = new IpcSession(service, () => undefined);
    const wrong = await window.call('auth.login', { user: 'vera', password: 'not-her-password' });
    assert.equal(problem(wrong)?.status, 401);
    assert.ok((await window.call('auth.login', { user: 'vera', password: viewerPassword })).ok);
    const refused = problem(await window.call('queues.create', { name: 'orders', subscriptions: ['a/#'] }));
    assert.equal(refused?.status, 403);
    assert.equal(refused?.code, 'not-authorized');
    assert.deepEqual(refused?.data, { action: 'manage', resource: 'orders' });
    assert.equal(problem(await window.call('messages.publish', { topic: 'a/b' }))?.status, 403);
    assert.equal(problem(await window.call('users.list', {}))?.status, 403);
    assert.ok((await window.call('queues.list', {})).ok, 'browse is the viewer’s');
    await window.subscribe(1, 'events.stream', { topics: ['a/#'] });
    assert.equal(window.subscriptions.size, 1);
    window.close();
  });

  test('an admin window may manage; a second window is not logged in by the first', async () => {
    const window = new IpcSession(service, () => undefined);
    assert.ok((await window.call('auth.login', { user: 'admin', password: adminPassword })).ok);
    assert.ok((await window.call('queues.create', { name: 'orders', subscriptions: ['a/#'] })).ok);
    const published = await window.call('messages.publish', { topic: 'a/1' });
    assert.ok(published.ok);
    const other = new IpcSession(service, () => undefined);
    assert.equal(problem(await other.call('queues.list', {}))?.status, 401);
    window.close();
  });

  test('logout revokes the token: later calls are 401 and the window’s live streams end', async () => {
    const window = new IpcSession(service, () => undefined);
    const before = issued.length;
    assert.ok((await window.call('auth.login', { user: 'vera', password: viewerPassword })).ok);
    const token = issued[before]!;
    assert.equal(await tokenLive(token), true);
    await window.subscribe(3, 'events.stream', { topics: ['a/#'] });
    const out = await window.call('auth.logout', {});
    assert.deepEqual(out, { ok: true, value: { loggedOut: true } });
    assert.equal(await tokenLive(token), false, 'revoked in the broker, not only forgotten');
    assert.equal(window.loggedIn, false);
    assert.equal(window.subscriptions.size, 0);
    assert.equal(problem(await window.call('queues.list', {}))?.status, 401);
  });

  test('closing the window revokes its token; a second login replaces (and revokes) the first', async () => {
    const window = new IpcSession(service, () => undefined);
    const before = issued.length;
    assert.ok((await window.call('auth.login', { user: 'vera', password: viewerPassword })).ok);
    assert.ok((await window.call('auth.login', { user: 'admin', password: adminPassword })).ok);
    const [first, second] = issued.slice(before);
    await waitFor(async () => !(await tokenLive(first!)), { what: 'the first token revoked' });
    assert.deepEqual(((await window.call('auth.whoami', {})) as { value: { user: string } }).value.user, 'admin');
    window.close();
    await waitFor(async () => !(await tokenLive(second!)), { what: 'the window’s token revoked on close' });
  });

  test('rights are live over IPC: deleting the user ends its subscriptions and its calls', async () => {
    const admin = new IpcSession(service, () => undefined);
    assert.ok((await admin.call('auth.login', { user: 'admin', password: adminPassword })).ok);
    assert.ok((await admin.call('users.create', { name: 'tom', password: 'tom-password', roles: ['viewer'] })).ok);
    const window = new IpcSession(service, () => undefined);
    assert.ok((await window.call('auth.login', { user: 'tom', password: 'tom-password' })).ok);
    await window.subscribe(1, 'events.stream', { topics: ['a/#'] });
    assert.ok((await admin.call('users.delete', { name: 'tom' })).ok);
    assert.equal(window.subscriptions.size, 0);
    assert.equal(problem(await window.call('queues.list', {}))?.status, 401);
    admin.close();
  });
});
