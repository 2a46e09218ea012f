import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Message } from '../../core/engine/message.ts';
import { waitFor } from '../helpers/wait.ts';
import { openMqttBroker } from './mqtt-helpers.ts';
import { collect5, connect5 } from './mqtt5-helpers.ts';
import { peerSkip } from '../helpers/peers.ts';

// python3-paho-mqtt as an MQTT 5 client (protocol=MQTTv5); it imports only in Debian's /usr/bin/python3.

const run = promisify(execFile);

/** Runs a paho script with `port`, a `make(client_id)` MQTT 5 client factory and the v5 helpers in scope. */
async function paho(port: number, script: string): Promise<string> {
  const prelude = [
    'import json, sys, time, threading',
    'import paho.mqtt.client as mqtt',
    'from paho.mqtt.properties import Properties',
    'from paho.mqtt.packettypes import PacketTypes',
    'from paho.mqtt.subscribeoptions import SubscribeOptions',
    `port = ${port}`,
    'def make(client_id):',
    '  kw = dict(client_id=client_id, protocol=mqtt.MQTTv5)',
    "  if hasattr(mqtt, 'CallbackAPIVersion'): kw['callback_api_version'] = mqtt.CallbackAPIVersion.VERSION1",
    '  return mqtt.Client(**kw)',
    'def props(kind, **values):',
    '  p = Properties(kind)',
    '  for k, v in values.items(): setattr(p, k, v)',
    '  return p',
    'def connect(c, clean_start, **values):',
    '  ready = threading.Event(); result = {}',
    '  def on_connect(cl, u, flags, rc, properties=None):',
    "    result['flags'] = flags; result['rc'] = int(getattr(rc, 'value', rc)); result['props'] = properties; ready.set()",
    '  c.on_connect = on_connect',
    "  c.connect('127.0.0.1', port, clean_start=clean_start, properties=props(PacketTypes.CONNECT, **values) if values else None)",
    '  c.loop_start(); ready.wait(5)',
    '  return result',
    'def describe(m):',
    '  p = m.properties',
    "  return dict(topic=m.topic, payload=m.payload.decode(), user=[list(x) for x in getattr(p, 'UserProperty', [])],",
    "    contentType=getattr(p, 'ContentType', None), responseTopic=getattr(p, 'ResponseTopic', None),",
    "    correlation=getattr(p, 'CorrelationData', b'').hex(), expiry=getattr(p, 'MessageExpiryInterval', None),",
    "    format=getattr(p, 'PayloadFormatIndicator', None), ids=getattr(p, 'SubscriptionIdentifier', None))",
  ].join('\n');
  const { stdout } = await run('/usr/bin/python3', ['-c', `${prelude}\n${script}`], { timeout: 20_000 });
  return stdout;
}

describe('paho-mqtt MQTT 5', { skip: peerSkip('paho') }, () => {
  test('paho publishes with MQTT 5 properties and a topic alias; MQTT.js and the engine see them', async () => {
    const broker = await openMqttBroker();
    const sub = await connect5(broker.url(), { clientId: 'js-watch' });
    const received = collect5(sub);
    await sub.subscribeAsync('paho5/#', { qos: 1 });
    const seen: Message[] = [];
    const stop = broker.engine.listen('paho5/#', (message) => seen.push(message));
    const out = await paho(
      broker.mqtt.ports.tcp!,
      `c = make('paho5-pub')
r = connect(c, True)
p = props(PacketTypes.PUBLISH, UserProperty=[('unit', 'C'), ('line', '2')], ContentType='application/json',
  ResponseTopic='paho5/reply', CorrelationData=b'\\x00\\x01', MessageExpiryInterval=300, PayloadFormatIndicator=1,
  TopicAlias=4)
i = c.publish('paho5/temp', '{"t":20}', qos=1, properties=p); i.wait_for_publish(5)
c.disconnect(); c.loop_stop()
print(json.dumps(dict(rc=r['rc'], aliasMax=getattr(r['props'], 'TopicAliasMaximum', None))))`,
    );
    assert.deepEqual(JSON.parse(out), { rc: 0, aliasMax: 64 });
    await waitFor(() => received.length === 1 && seen.length === 1, { what: 'delivery' });
    const message = seen[0]!;
    assert.deepEqual([message.headers.unit, message.headers.line], ['C', '2']);
    assert.equal(message.contentType, 'application/json');
    assert.equal(message.replyTo, 'paho5/reply');
    assert.equal(message.correlationId, 'AAE=');
    assert.ok(message.expiresAt! > Date.now() + 290_000);
    const { properties } = received[0]!;
    assert.deepEqual({ ...(properties.userProperties as object) }, { unit: 'C', line: '2' });
    assert.deepEqual(properties.correlationData, Buffer.from([0, 1]));
    assert.equal(properties.payloadFormatIndicator, true);
    stop();
    await sub.endAsync();
    await broker.close();
  });

  test('a paho session with an expiry interval survives a restart; subscription id, no local and properties arrive', async () => {
    const broker = await openMqttBroker();
    const port = broker.mqtt.ports.tcp!;
    await paho(
      port,
      `c = make('paho5-keeper')
connect(c, True, SessionExpiryInterval=3600)
done = threading.Event(); c.on_subscribe = lambda *a: done.set()
c.subscribe('keep5/#', options=SubscribeOptions(qos=1, noLocal=True), properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=9))
done.wait(5)
c.disconnect(); c.loop_stop()`,
    );
    const js = await connect5(broker.url(), { clientId: 'keep5-feeder' });
    await js.publishAsync('keep5/a', 'one', {
      qos: 1,
      properties: { userProperties: { k: 'v' }, contentType: 'text/plain', messageExpiryInterval: 600 },
    });
    await js.endAsync();
    await broker.restart();
    const out = await paho(
      broker.mqtt.ports.tcp!,
      `got = []
c = make('paho5-keeper')
c.on_message = lambda cl, u, m: got.append(describe(m))
r = connect(c, False, SessionExpiryInterval=3600)
end = time.time() + 10
while len(got) < 1 and time.time() < end: time.sleep(0.02)
i = c.publish('keep5/own', 'mine', qos=1); i.wait_for_publish(5)
time.sleep(0.3)
c.disconnect(); c.loop_stop()
print(json.dumps(dict(present=r['flags'].get('session present'), got=got)))`,
    );
    const result = JSON.parse(out) as { present: number; got: Array<Record<string, unknown>> };
    assert.equal(result.present, 1, 'session present after the restart');
    assert.equal(result.got.length, 1, 'its own message is not sent back (no local)');
    const [message] = result.got;
    assert.equal(message!.payload, 'one');
    assert.deepEqual(message!.user, [['k', 'v']]);
    assert.equal(message!.contentType, 'text/plain');
    assert.deepEqual(message!.ids, [9]);
    assert.ok((message!.expiry as number) <= 600 && (message!.expiry as number) > 500);
    await broker.close();
  });
});
