// `sluice config export --format rabbitmq` imported into a real RabbitMQ (Debian's, a private
// node in a temp dir with the MQTT and AMQP 1.0 plugins): MQTT publishes route into the quorum
// queues, a message returned past its delivery limit reaches the DMQ, and an expired one
// dead-letters (docs/handover.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { EventContext } from 'rhea';
import { mqttFilterToAmqpPattern, toRabbitDefinitions } from '../../core/schema/rabbitmq-definitions.ts';
import { parseConfigDocument } from '../../core/schema/config-document.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectAmqp, startRabbit } from './bridge-helpers.ts';
import { runCli } from '../helpers/process.ts';

describe('RabbitMQ definitions (pure conversion)', () => {
  it('translates MQTT filters as the RabbitMQ MQTT plugin routes: / → ., + → *, # → #, . → /', () => {
    assert.equal(mqttFilterToAmqpPattern('plant/+/orders/#'), 'plant.*.orders.#');
    assert.equal(mqttFilterToAmqpPattern('#'), '#');
    assert.equal(mqttFilterToAmqpPattern('site/v1.2/x'), 'site.v1/2.x');
  });

  it('lists what RabbitMQ cannot express as warnings instead of dropping it', () => {
    const document = parseConfigDocument({
      format: 'sluice-config',
      version: 1,
      queues: [{ name: 'q', overflow: 'dead-letter', subscriptions: ['a/#'] }],
      roles: [{ name: 'r', rules: [{ actions: ['replay', 'publish'], patterns: ['a/#', '$SYS/#'] }] }],
      users: [{ name: 'u', roles: ['r'] }],
    });
    const { definitions, warnings } = toRabbitDefinitions(document);
    const text = warnings.join('\n');
    assert.match(text, /overflow dead-letter .* no quorum-queue equivalent/);
    assert.match(text, /replay .* no RabbitMQ equivalent/);
    assert.match(text, /"\$SYS\/#".* no RabbitMQ permission equivalent/);
    assert.match(text, /without a password/);
    const topicPermissions = definitions.topic_permissions as Array<{ write: string }>;
    assert.ok(new RegExp(topicPermissions[0]!.write).test('a.b.c'));
    assert.ok(!new RegExp(topicPermissions[0]!.write).test('b.c'));
  });
});

describe('RabbitMQ definitions imported into a real RabbitMQ', () => {
  // Starting RabbitMQ with its MQTT plugin takes 30–90 s on a busy 2-core machine.
  it(
    'routes MQTT publishes by the translated subscriptions, dead-letters past the delivery limit and on TTL, and enforces the roles as permissions',
    { timeout: 400_000 },
    async (t) => {
      const sluice = await startTestBroker({
        queues: [
          {
            name: 'orders',
            subscriptions: ['plant/+/orders/#'],
            maxRedelivery: 2,
            deadMessageQueue: 'orders-dmq',
            maxDepthMessages: 1000,
          },
          {
            name: 'heartbeats',
            subscriptions: ['plant/line1/heartbeat'],
            defaultTtlMs: 300,
            deadMessageQueue: 'expired',
          },
        ],
      });
      t.after(sluice.cleanup);
      // A line operator who may publish and subscribe under plant/line1 only.
      sluice.broker.security.putRole('line1-operator', 'Line 1', [
        { actions: ['publish', 'subscribe'], patterns: ['plant/line1/#'] },
      ]);
      await sluice.broker.security.createUser('olga', 'olga-password', ['line1-operator']);
      const file = join(sluice.dir, 'definitions.json');
      const exported = await runCli([
        '--url',
        sluice.broker.httpUrl,
        'config',
        'export',
        '--format',
        'rabbitmq',
        '--output',
        file,
      ]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr, /warning: .*x-death/, 'warnings go to stderr');
      const definitions = JSON.parse(readFileSync(file, 'utf8')) as {
        queues: Array<{ name: string; arguments: Record<string, unknown> }>;
      };
      assert.deepEqual(definitions.queues.find((q) => q.name === 'orders')?.arguments, {
        'x-queue-type': 'quorum',
        'x-delivery-limit': 2,
        'x-dead-letter-exchange': 'sluice.dead-letter',
        'x-dead-letter-routing-key': 'orders-dmq',
        'x-dead-letter-strategy': 'at-least-once',
        'x-max-length': 1000,
        'x-max-length-bytes': 1024 * 1024 * 1024,
        'x-overflow': 'reject-publish',
      });

      const rabbit = await startRabbit({ mqtt: true });
      t.after(() => rabbit.cleanup());
      await rabbit.ctl(['import_definitions', file]);
      const queueTypes = await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'type']);
      for (const name of ['orders', 'orders-dmq', 'heartbeats', 'expired'])
        assert.match(queueTypes, new RegExp(`^${name}\\s+quorum$`, 'm'), queueTypes);
      const depth = async (name: string) => {
        const rows = await rabbit.ctl(['list_queues', '--quiet', '--no-table-headers', 'name', 'messages']);
        return Number(new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(rows)?.[1] ?? -1);
      };

      const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${rabbit.mqttPort}`, {
        username: 'guest',
        password: 'guest',
        clientId: 'line1-plc',
        reconnectPeriod: 0,
      });
      t.after(() => publisher.endAsync());
      await publisher.publishAsync('plant/line1/orders/4711', 'order-4711', { qos: 1 });
      await publisher.publishAsync('plant/line1/other', 'not-for-orders', { qos: 1 });
      await waitFor(async () => (await depth('orders')) === 1, { timeoutMs: 20_000, what: 'the order in "orders"' });

      // Return the order unprocessed until RabbitMQ gives up: 1 delivery + 2 redeliveries, then the DMQ.
      const amqp = await connectAmqp(rabbit.port);
      t.after(() => void amqp.close());
      const deliveries: string[] = [];
      const receiver = amqp.open_receiver({
        source: { address: '/amq/queue/orders' },
        autoaccept: false,
        credit_window: 1,
      });
      receiver.on('message', (context: EventContext) => {
        deliveries.push(String((context.message!.body as { content?: Buffer }).content ?? context.message!.body));
        context.delivery!.release(); // AMQP 1.0 released → requeued, the quorum queue counts the return
      });
      await waitFor(async () => (await depth('orders-dmq')) === 1, {
        timeoutMs: 20_000,
        what: () => `the order in the DMQ (${deliveries.length} deliveries)`,
      });
      receiver.close();
      assert.deepEqual(deliveries, ['order-4711', 'order-4711', 'order-4711'], 'delivered 1 + maxRedelivery times');
      assert.equal(await depth('orders'), 0);

      // TTL: a heartbeat nobody consumes dead-letters to its DMQ once 300 ms pass.
      await publisher.publishAsync('plant/line1/heartbeat', 'beat', { qos: 1 });
      await waitFor(async () => (await depth('expired')) === 1, { timeoutMs: 20_000, what: 'the expired heartbeat' });
      assert.equal(await depth('heartbeats'), 0);
      const dead: string[] = [];
      const fromDmq = amqp.open_receiver({ source: { address: '/amq/queue/expired' }, autoaccept: true });
      fromDmq.on('message', (context: EventContext) =>
        dead.push(String((context.message!.body as { content?: Buffer }).content ?? context.message!.body)),
      );
      await waitFor(() => dead.length === 1, { timeoutMs: 10_000, what: 'the heartbeat read from the DMQ' });
      assert.deepEqual(dead, ['beat']);

      // Permissions: with a password set, olga may publish under plant/line1 but not plant/line2.
      await rabbit.ctl(['change_password', 'olga', 'olga-password']);
      const olga = await mqtt.connectAsync(`mqtt://127.0.0.1:${rabbit.mqttPort}`, {
        username: 'olga',
        password: 'olga-password',
        clientId: 'olga-1',
        reconnectPeriod: 0,
      });
      const closed = new Promise<void>((resolve) => olga.once('close', () => resolve()));
      await olga.publishAsync('plant/line1/orders/77', 'order-77', { qos: 1 });
      await waitFor(async () => (await depth('orders')) === 1, { timeoutMs: 20_000, what: 'olga’s line 1 order' });
      olga.publish('plant/line2/orders/78', 'order-78', { qos: 1 });
      await closed; // RabbitMQ's MQTT plugin closes a connection whose publish is not authorised
      olga.end(true);
      assert.equal(await depth('orders'), 1, 'the line 2 order was refused');
    },
  );
});
