import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { collect5, connect5 } from './mqtt5-helpers.ts';

describe('MQTT 3.1.1 and MQTT 5 on one adapter', () => {
  test('3.1.1 (TCP) and 5 (WebSocket) clients exchange messages on the same topics', async () => {
    const broker = await openMqttBroker();
    const old = await connect(broker.url(), { clientId: 'v4' });
    const fresh = await connect5(broker.url('ws'), { clientId: 'v5' });
    const toOld = collect(old);
    const toFresh = collect5(fresh);
    await old.subscribeAsync('mix/#', { qos: 1 });
    await fresh.subscribeAsync('mix/#', { qos: 1 });
    await fresh.publishAsync('mix/from5', 'hello 4', {
      qos: 1,
      properties: { userProperties: { origin: 'v5' }, contentType: 'text/plain' },
    });
    await old.publishAsync('mix/from4', 'hello 5', { qos: 1 });
    await waitFor(() => toOld.length === 2 && toFresh.length === 2, { what: 'both ways' });
    assert.deepEqual(toOld.map((m) => `${m.topic}=${m.payload}`).sort(), ['mix/from4=hello 5', 'mix/from5=hello 4']);
    const from4 = toFresh.find((m) => m.topic === 'mix/from4')!;
    assert.equal(from4.payload, 'hello 5');
    assert.equal(from4.properties.userProperties, undefined, 'a 3.1.1 message has no user properties');
    const own = toFresh.find((m) => m.topic === 'mix/from5')!;
    assert.deepEqual({ ...(own.properties.userProperties as object) }, { origin: 'v5' });
    await Promise.all([old.endAsync(), fresh.endAsync()]);
    await broker.close();
  });

  test('a persistent session made by a 3.1.1 client is resumed by the same client id on MQTT 5', async () => {
    const broker = await openMqttBroker();
    const old = await connect(broker.url(), { clientId: 'upgrader', clean: false });
    await old.subscribeAsync('up/#', { qos: 1 });
    await old.endAsync();
    await broker.engine.publish({ topic: 'up/1', payload: 'waiting' });
    const fresh = await connect5(broker.url(), {
      clientId: 'upgrader',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    const received = collect5(fresh);
    await waitFor(() => received.length === 1, { what: 'the backlog' });
    assert.equal(received[0]!.payload, 'waiting');
    await fresh.endAsync();
    await broker.close();
  });
});
