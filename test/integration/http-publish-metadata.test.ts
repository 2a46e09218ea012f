// HTTP publishes are recorded as what they are: protocol `http` and, when a user is logged in,
// that user as publisher — in the message metadata and in the DMQ, like MQTT and AMQP publishes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';

describe('HTTP publish metadata', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  let auth: string;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker({
      security: { anonymous: false },
      queues: [{ name: 'orders', subscriptions: ['plant/+/orders'], maxDepthMessages: 1, overflow: 'dead-letter' }],
    }));
    auth = `Basic ${Buffer.from(`admin:${broker.firstRunAdmin!.password}`).toString('base64')}`;
  });
  after(() => cleanup());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(broker.httpUrl + path, { method: 'POST', headers: { authorization: auth, ...headers }, body });

  it('a raw and a JSON publish over HTTP say protocol http and the user as publisher, in the queue and the DMQ', async () => {
    const raw = await post('/api/v1/topics/plant/a/orders', 'first', { 'content-type': 'text/plain' });
    assert.equal(raw.status, 201, await raw.clone().text());
    const json = await post('/api/v1/messages', JSON.stringify({ topic: 'plant/b/orders', payload: 'second' }), {
      'content-type': 'application/json',
    });
    assert.ok(json.ok, await json.clone().text());
    const [queued] = broker.engine.browseQueue('orders');
    assert.equal(queued!.message.protocol, 'http');
    assert.equal(queued!.message.publisher, 'admin');
    const [dead] = broker.engine.deadMessages.list({ queue: 'orders' });
    assert.equal(dead!.reason, 'overflow');
    assert.equal(dead!.message.protocol, 'http');
    assert.equal(dead!.message.publisher, 'admin');
  });
});
