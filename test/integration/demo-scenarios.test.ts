// Every demo scenario (resources/scenarios/) runs time-compressed against a whole broker with
// security on and anonymous access off: its simulated PLCs, SCADA, MES, ERP and historian are
// real MQTT, HTTP and AMQP clients on the broker's own listeners, logged in as the run's
// generated least-privilege `demo` user. Each test asserts the scenario's expected outcome from
// the broker's side too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createBroker, type Broker } from '../../core/broker.ts';
import { loadConfig } from '../../core/config.ts';
import { ApiError, createHttpClient } from '../../core/api/client.ts';
import { AmqpActor, demoEndpoints, HttpActor, MqttActor } from '../../core/demo/actors.ts';
import { DemoIdentity } from '../../core/demo/identity.ts';
import { ScenarioRun } from '../../core/demo/runner.ts';
import { loadScenarios } from '../../core/demo/scenarios.ts';
import { silentLogger } from '../../core/log.ts';
import type { DemoStatus } from '../../core/api/contract.ts';
import { startTestBroker, testBrokerFlags } from '../helpers/broker.ts';

/** Plant ms per real ms: two plant hours take about a second. */
const speed = 20_000;

/** Security on, nobody gets in without credentials (the packaged default). */
const secured = { security: { anonymous: false } } as const;

/** The `demo` user and role are gone once a run ended. */
async function assertNoDemoIdentity(broker: Broker): Promise<void> {
  assert.ok(!(await broker.service.call('users.list', {})).users.some((u) => u.name === 'demo'), 'demo user removed');
  assert.ok(!(await broker.service.call('roles.list', {})).roles.some((r) => r.name === 'demo'), 'demo role removed');
}

async function runToEnd(broker: Broker, name: string): Promise<DemoStatus> {
  const started = await broker.service.call('demo.start', { name, speed });
  assert.equal(started.state, 'running');
  const status = await broker.service.demo.settled();
  const failures = status.checks
    .filter((c) => !c.pass)
    .map((c) => `${c.label}: expected ${c.expected}, got ${c.actual}`);
  assert.equal(status.state, 'passed', `${status.error ?? ''} ${failures.join('; ')}`);
  assert.ok(status.steps.every((step) => step.state === 'done'));
  // The actors ran as the generated user, whose rights all lie inside the scenario's namespace.
  assert.equal(status.runAs?.user, 'demo');
  assert.equal(status.runAs?.role, 'demo');
  for (const rule of status.runAs!.rules)
    for (const pattern of rule.patterns) assert.ok(pattern.startsWith(`demo/${name}/`), pattern);
  await assertNoDemoIdentity(broker);
  return status;
}

describe('demo scenarios', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker(secured));
  });
  after(() => cleanup?.());

  test('every scenario file validates and is listed with its narrated steps', async () => {
    const { scenarios, problems } = loadScenarios();
    assert.deepEqual(problems, []);
    assert.equal(scenarios.length, 8);
    const listed = await broker.service.call('demo.list', {});
    assert.deepEqual(
      listed.scenarios.map((s) => s.name),
      [
        'erp-offline',
        'plc-command-fails',
        'schema-change',
        'mes-from-history',
        'late-analytics',
        'scada-cold-start',
        'kafka-analytics',
        'sap-push-maintenance',
      ],
    );
    assert.ok(listed.scenarios.every((s) => s.steps.length > 0 && s.steps.every((step) => step.narration.length > 0)));
  });

  test('ERP offline: its queue fills while it is down, nothing is lost, it drains in order', async () => {
    const status = await runToEnd(broker, 'erp-offline');
    assert.equal(status.checks.find((c) => c.expected.startsWith('depth 60'))?.actual, 'depth 60');
    assert.equal(status.checks.find((c) => c.label.includes('in order'))?.actual, '60 processed, in order');
    const queue = await broker.service.call('queues.get', { name: 'demo/erp-offline/erp-orders' });
    assert.equal(queue.depth, 0);
    assert.equal(queue.counters.acked, 60);
    assert.equal(queue.counters.deadLettered, 0);
    assert.equal(status.plantClock, '08:00');
  });

  test('SAP push endpoint down for maintenance: the queue holds the orders, all are booked once and in order when it returns', async () => {
    const status = await runToEnd(broker, 'sap-push-maintenance');
    assert.equal(status.checks.find((c) => c.label.includes('in order'))?.actual, '40 processed, in order');
    const queue = await broker.service.call('queues.get', { name: 'demo/sap-push-maintenance/sap-orders' });
    assert.equal(queue.depth, 0);
    assert.equal(queue.counters.acked, 40);
    assert.equal(queue.counters.deadLettered, 0);
    assert.deepEqual(
      (await broker.service.call('push.status', {})).pushConsumers,
      [],
      'the run removes its push consumer',
    );
  });

  test('PLC command keeps failing: max redelivery moves it to the DMQ with the count and last error; redelivered after the fix', async () => {
    const status = await runToEnd(broker, 'plc-command-fails');
    const dead = status.checks.find((c) => c.label.startsWith('DMQ') && c.expected.startsWith('1 dead'))!;
    assert.match(dead.actual, /1 dead, reason max-redelivery, 4 deliveries, error “visibility timeout/);
    const queue = await broker.service.call('queues.get', { name: 'demo/plc-command-fails/plc-commands' });
    assert.equal(queue.counters.acked, 1);
    assert.equal((await broker.service.call('dmq.list', { queue: queue.name })).deadMessages.length, 0);
  });

  test('schema change: new payloads are rejected as schema-invalid into the DMQ, redelivered and processed after the fix', async () => {
    const status = await runToEnd(broker, 'schema-change');
    const dead = status.checks.find((c) => c.expected.startsWith('6 dead'))!;
    assert.match(
      dead.actual,
      /^6 dead, reason rejected, 1 deliveries, error “schema-invalid: required field "temperatureC" missing/,
    );
    assert.equal(status.checks.find((c) => c.label.startsWith('Historian'))?.actual, '16 processed');
    const queue = await broker.service.call('queues.get', { name: 'demo/schema-change/historian' });
    assert.equal(queue.counters.acked, 16);
    assert.equal(queue.counters.deadLettered, 6);
  });

  test('new MES replays the line from the beginning and gets every event in order', async () => {
    const status = await runToEnd(broker, 'mes-from-history');
    assert.equal(status.checks[0]?.actual, '40 processed, in order');
    const replays = (await broker.service.call('replay.list', {})).replays.filter(
      (r) => r.spec.target.queue === 'demo/mes-from-history/mes-new',
    );
    assert.equal(replays.at(-1)?.state, 'completed');
    assert.equal(replays.at(-1)?.replayed, 40);
  });

  test('late analytics replays from a timestamp: exactly the range after it, in order', async () => {
    const status = await runToEnd(broker, 'late-analytics');
    assert.equal(status.checks[0]?.actual, '20 processed, in order, first #31, last #50, 0 from before #31');
    const replay = (await broker.service.call('replay.list', {})).replays.find(
      (r) => r.spec.target.queue === 'demo/late-analytics/analytics',
    );
    assert.equal(replay?.replayed, 20);
  });

  test('a second run resets the namespace first and passes again; reset removes queues and dead messages', async () => {
    await runToEnd(broker, 'schema-change');
    const reset = await broker.service.call('demo.reset', { name: 'schema-change' });
    assert.deepEqual(reset.deletedQueues, ['demo/schema-change/historian']);
    const names = (await broker.service.call('queues.list', {})).queues.map((q) => q.name);
    assert.ok(!names.some((n) => n.startsWith('demo/schema-change/')));
  });

  test('running a scenario never touches queues outside its namespace', async () => {
    await broker.service.call('queues.create', { name: 'orders', subscriptions: ['demo/#', 'plant/#'] });
    await broker.service.call('messages.publish', { topic: 'plant/a', payload: 'mine' });
    await runToEnd(broker, 'plc-command-fails');
    await broker.service.call('demo.reset', { name: 'plc-command-fails' });
    const orders = await broker.service.call('queues.get', { name: 'orders' });
    assert.ok(orders.depth >= 2, 'the user queue keeps its messages, the demo ones included');
    await broker.service.call('queues.delete', { name: 'orders', force: true });
  });

  test('start refuses a second run while one is running, and stop ends it', async () => {
    await broker.service.call('demo.start', { name: 'erp-offline', speed: 60 });
    await assert.rejects(broker.service.call('demo.start', { name: 'late-analytics' }), { code: 'queue-in-use' });
    const stopped = await broker.service.call('demo.stop', {});
    assert.equal(stopped.state, 'stopped');
    await assert.rejects(broker.service.call('demo.start', { name: 'no-such' }), { code: 'invalid-input' });
  });
});

describe('SCADA cold start across a real broker restart', () => {
  test('retained last values and the persistent session restore the picture after close + reopen on the same data dir', async () => {
    const { broker: first, dir, cleanup } = await startTestBroker(secured);
    let second: Broker | undefined;
    try {
      const scenario = loadScenarios().scenarios.find((s) => s.name === 'scada-cold-start')!;
      const call = first.service.call.bind(first.service) as ConstructorParameters<typeof ScenarioRun>[1];
      const identity = await DemoIdentity.open(call, scenario, true);
      const run = new ScenarioRun(scenario, call, demoEndpoints(first.listeners), speed, identity);
      await run.setUp();
      const reconnect = scenario.steps.findIndex((step) => step.action.do === 'reconnect');
      await run.runSteps(0, reconnect);
      await run.closeActors();
      await first.close();

      second = await createBroker(loadConfig({ env: {}, flags: testBrokerFlags(dir, secured) }), {
        logger: silentLogger(),
      });
      run.retarget(second.service.call.bind(second.service) as typeof call, demoEndpoints(second.listeners));
      await run.runSteps(reconnect);
      await run.finish();
      const failures = run.status.checks.filter((c) => !c.pass).map((c) => `${c.label}: ${c.actual}`);
      assert.equal(run.status.state, 'passed', `${run.status.error ?? ''} ${failures.join('; ')}`);
      assert.equal(run.status.checks[0]?.actual, '4 of 4 restored');
      assert.match(run.status.checks[1]!.actual, /^5 delivered on reconnect \(session present: true\)/);
      // The user (stored like any other) outlived the restart; the run's end removes it.
      await identity.close(second.service.call.bind(second.service) as typeof call);
      await assertNoDemoIdentity(second);
    } finally {
      await second?.close();
      await cleanup();
    }
  });

  test('the same scenario passes from the runner (disconnect and reconnect without a restart)', async () => {
    const { broker, cleanup } = await startTestBroker(secured);
    try {
      await runToEnd(broker, 'scada-cold-start');
    } finally {
      await cleanup();
    }
  });
});

describe('demo actors are least-privilege users', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker(secured));
  });
  after(() => cleanup?.());

  test('a demo actor is refused outside its scenario: publish over MQTT and HTTP, subscribe, consume, manage', async () => {
    const scenario = loadScenarios().scenarios.find((s) => s.name === 'erp-offline')!;
    const call = broker.service.call.bind(broker.service) as ConstructorParameters<typeof ScenarioRun>[1];
    await broker.service.call('queues.create', { name: 'probe', subscriptions: ['#'] });
    const own = 'demo/erp-offline/erp-orders';
    await broker.service.call('queues.create', { name: own, subscriptions: ['demo/erp-offline/line1/order-done'] });
    const identity = await DemoIdentity.open(call, scenario, true);
    const endpoints = demoEndpoints(broker.listeners);
    assert.deepEqual(identity.runAs.rules, [
      { actions: ['publish'], patterns: ['demo/erp-offline/line1/order-done'] },
      { actions: ['consume'], patterns: ['demo/erp-offline/erp-orders'] },
    ]);
    try {
      // MQTT: its own topic is accepted; another scenario's or a plant topic closes the
      // connection (MQTT 3.1.1 has no negative PUBACK).
      const plc = new MqttActor(endpoints.mqttUrl!, 'demo-acl-probe', identity.credentials);
      await plc.connect(false);
      await plc.publish('demo/erp-offline/line1/order-done', '{"seq":1}', false);
      for (const topic of ['demo/late-analytics/line1/count', 'plant/line1/order-done']) {
        await plc.connect(false);
        await assert.rejects(plc.publish(topic, '{}', false), /connection: publishing to .* was refused/, topic);
      }
      await plc.connect(false);
      await assert.rejects(plc.subscribe(['demo/erp-offline/#']), 'no subscribe right at all');
      await plc.close();

      // AMQP (SASL PLAIN as demo): a receiver on a queue outside the scenario is refused at attach.
      const mes = new AmqpActor(endpoints.amqpUrl!, 'demo-acl-amqp', identity.credentials);
      await assert.rejects(mes.receive('probe', 1), /not-authorized|unauthorized/i);
      await mes.close();

      // HTTP, logged in as demo: 403 with the missing permission named.
      const erp = new HttpActor(endpoints.httpUrl, identity.credentials);
      const refused = (action: string, resource: string) => (error: unknown) =>
        error instanceof ApiError &&
        error.status === 403 &&
        error.data?.action === action &&
        error.data?.resource === resource;
      await assert.rejects(erp.publish('plant/line1/order-done', '{}'), refused('publish', 'plant/line1/order-done'));
      await assert.rejects(erp.receive('probe', 1, 1000), refused('consume', 'probe'));
      await assert.rejects(
        createHttpClient(endpoints.httpUrl, { auth: identity.credentials! }).call('queues.delete', { name: own }),
        refused('manage', own),
      );
      const [mine] = await erp.receive(own, 1, 1000);
      assert.equal(mine?.message.payload, '{"seq":1}', 'its own queue is open to it');
      await erp.ack(own, mine!.deliveryId);
    } finally {
      await identity.close();
    }
    // Only the accepted publish reached the broker.
    assert.equal((await broker.service.call('queues.get', { name: 'probe' })).depth, 1);
    // Once closed the credentials are dead: CONNECT is refused.
    const late = new MqttActor(endpoints.mqttUrl!, 'demo-acl-late', identity.credentials);
    await assert.rejects(late.connect(false));
    await assertNoDemoIdentity(broker);
    await broker.service.call('queues.delete', { name: 'probe', force: true });
    await broker.service.call('queues.delete', { name: own, force: true });
  });

  test('a user named demo that the runner did not make stops the start with a clear error and is left alone', async () => {
    await broker.service.call('users.create', { name: 'demo', password: 'someone-elses', roles: ['viewer'] });
    await assert.rejects(broker.service.call('demo.start', { name: 'erp-offline', speed }), {
      code: 'user-exists',
      message: /did not make/,
    });
    const demo = (await broker.service.call('users.list', {})).users.find((u) => u.name === 'demo');
    assert.deepEqual(demo?.roles, ['viewer']);
    assert.equal(broker.service.demo.status().state, 'idle');
    await broker.service.call('users.delete', { name: 'demo' });
  });
});
