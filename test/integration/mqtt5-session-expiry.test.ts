import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { startMqtt, type MqttListener } from '../../core/protocols/mqtt/index.ts';
import { MqttPersistenceStore } from '../../core/store/mqtt-persistence-store.ts';
import { tempDir, testEngineOptions } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { connect } from './mqtt-helpers.ts';
import { connect5, connectCollecting5 } from './mqtt5-helpers.ts';

// MQTT 5 session expiry across broker restarts: the deadline of a disconnected persistent session is
// stored (mqtt_session_expiry), so it is kept after a restart. Real sockets, MQTT.js v5, real SQLite.

/** An engine + MQTT listener on one data directory that can be stopped and started again. */
async function openBroker(): Promise<{
  readonly engine: Engine;
  url(): string;
  /** Stored deadlines of disconnected sessions, by client id (connected ones have none yet). */
  deadlines(): Map<string, number>;
  /** Closes the listener and the engine (the broker is down). */
  stop(): Promise<void>;
  /** Opens the engine on the same directory and starts MQTT on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}> {
  const { dir, cleanup } = tempDir();
  let engine: Engine | null = null;
  let listener: MqttListener | null = null;
  let port = 0;
  const broker = {
    get engine(): Engine {
      assert.ok(engine, 'the broker is running');
      return engine;
    },
    url: () => `mqtt://127.0.0.1:${port}`,
    deadlines: () =>
      new Map(
        new MqttPersistenceStore(broker.engine.store.database)
          .loadSessionExpiries()
          .flatMap(({ clientId, expiresAt }) => (expiresAt === null ? [] : [[clientId, expiresAt] as const])),
      ),
    async stop() {
      await listener?.close();
      await engine?.close();
      listener = null;
      engine = null;
    },
    async start() {
      engine = await Engine.open(testEngineOptions(dir));
      listener = await startMqtt(engine, { tcp: { port } }, silentLogger());
      port = listener.ports.tcp!;
    },
    async close() {
      await broker.stop();
      cleanup();
    },
  };
  await broker.start();
  return broker;
}

/** Waits until the wall clock is past `deadline` (these tests are about time passing). */
async function waitPast(deadline: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()) + 100));
}

describe('MQTT 5 session expiry across restarts', () => {
  test('a disconnected session expires after a broker restart; Clean Start 0 then gets sessionPresent false', async () => {
    const broker = await openBroker();
    const leaving = await connect5(broker.url(), {
      clientId: 'exp-restart',
      clean: false,
      properties: { sessionExpiryInterval: 2 },
    });
    await leaving.subscribeAsync('exp/restart/#', { qos: 1 });
    const disconnectedAt = Date.now();
    await leaving.endAsync();
    await waitFor(() => broker.deadlines().has('exp-restart'), { what: 'the deadline stored' });
    const deadline = broker.deadlines().get('exp-restart')!;
    assert.ok(deadline >= disconnectedAt + 2000 && deadline <= Date.now() + 2000, 'deadline = disconnect + 2 s');

    await broker.stop();
    await broker.start();
    assert.ok(Date.now() < deadline, 'restarted before the deadline');
    assert.ok(broker.engine.queueByName('mqtt/exp-restart'), 'the session is still there after the restart');
    assert.ok(broker.deadlines().has('exp-restart'), 'its deadline too');

    // The countdown was re-armed from the stored deadline.
    await waitFor(() => !broker.engine.queueByName('mqtt/exp-restart'), {
      timeoutMs: deadline - Date.now() + 3000,
      what: 'the session queue discarded after the deadline',
    });
    assert.ok(Date.now() >= deadline, 'not before the deadline');
    await waitFor(() => !broker.deadlines().has('exp-restart'), { what: 'the deadline row removed' });

    const { client: back, sessionPresent } = await connectCollecting5(broker.url(), {
      clientId: 'exp-restart',
      clean: false,
      properties: { sessionExpiryInterval: 2 },
    });
    assert.equal(sessionPresent, false, 'the expired session is gone');
    await back.endAsync();
    await broker.close();
  });

  test('sessions whose deadline passed while the broker was down are discarded at start-up', async () => {
    const broker = await openBroker();
    const away = await connect5(broker.url(), {
      clientId: 'exp-away',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await away.subscribeAsync('exp/away/#', { qos: 1 });
    await away.endAsync();
    // Still connected when the broker shuts down: its countdown starts then.
    const cut = await connect5(broker.url(), {
      clientId: 'exp-cut',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    cut.on('error', () => {});
    await cut.subscribeAsync('exp/cut/#', { qos: 1 });
    await waitFor(() => broker.deadlines().has('exp-away'), { what: 'the deadline of exp-away stored' });

    await broker.stop();
    cut.end(true);
    // The broker is down past both deadlines (1 s after each connection ended).
    await waitPast(Date.now() + 1000);
    await broker.start();

    // Discarded by startMqtt itself, before it returned.
    assert.equal(broker.engine.queueByName('mqtt/exp-away'), undefined);
    assert.equal(broker.engine.queueByName('mqtt/exp-cut'), undefined);
    assert.deepEqual([...broker.deadlines().keys()], []);
    for (const clientId of ['exp-away', 'exp-cut']) {
      const { client, sessionPresent } = await connectCollecting5(broker.url(), { clientId, clean: false });
      assert.equal(sessionPresent, false, `${clientId}: no session`);
      await client.endAsync();
    }
    await broker.close();
  });

  test('a client back before the deadline keeps its backlog and its deadline row goes', async () => {
    const broker = await openBroker();
    const sub = await connect5(broker.url(), {
      clientId: 'exp-back',
      clean: false,
      properties: { sessionExpiryInterval: 30 },
    });
    await sub.subscribeAsync('exp/back/#', { qos: 1 });
    await sub.endAsync();
    await waitFor(() => broker.deadlines().has('exp-back'), { what: 'the deadline stored' });

    await broker.stop();
    await broker.start();
    assert.ok(broker.deadlines().has('exp-back'), 'the deadline survives the restart');
    const pub = await connect5(broker.url(), { clientId: 'exp-pub' });
    for (let i = 0; i < 3; i++) await pub.publishAsync(`exp/back/${i}`, `b${i}`, { qos: 1 });
    await pub.endAsync();

    const {
      client: back,
      received,
      sessionPresent,
    } = await connectCollecting5(broker.url(), {
      clientId: 'exp-back',
      clean: false,
      properties: { sessionExpiryInterval: 30 },
    });
    assert.equal(sessionPresent, true);
    await waitFor(() => received.length === 3, { what: 'the 3 messages kept while away' });
    assert.deepEqual(
      received.map((m) => m.payload),
      ['b0', 'b1', 'b2'],
    );
    assert.equal(broker.deadlines().has('exp-back'), false, 'the reconnect removed the deadline');
    await back.endAsync();
    await broker.close();
  });

  test('"never" (0xFFFFFFFF) and 3.1.1 persistent sessions store no deadline', async () => {
    const broker = await openBroker();
    const forever = await connect5(broker.url(), {
      clientId: 'exp-never',
      clean: false,
      properties: { sessionExpiryInterval: 0xffff_ffff },
    });
    await forever.subscribeAsync('exp/never/#', { qos: 1 });
    await forever.endAsync();
    const legacy = await connect(broker.url(), { clientId: 'exp-311', clean: false });
    await legacy.subscribeAsync('exp/311/#', { qos: 1 });
    await legacy.endAsync();
    // One that does store a deadline, after the others: once it is there, theirs would be too.
    const marker = await connect5(broker.url(), {
      clientId: 'exp-marker',
      clean: false,
      properties: { sessionExpiryInterval: 600 },
    });
    await marker.endAsync();
    await waitFor(() => broker.deadlines().has('exp-marker'), { what: 'the marker deadline stored' });

    await broker.stop();
    await broker.start();
    assert.deepEqual([...broker.deadlines().keys()], ['exp-marker']);
    assert.ok(broker.engine.queueByName('mqtt/exp-never'));
    assert.ok(broker.engine.queueByName('mqtt/exp-311'));
    await broker.close();
  });
});
