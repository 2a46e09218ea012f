import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.ts';
import { collect, connect, openMqttBroker } from './mqtt-helpers.ts';
import { peerSkip } from '../helpers/peers.ts';

// Real third-party clients: Debian's mosquitto-clients and python3-paho-mqtt (which imports
// only in Debian's /usr/bin/python3).
const run = promisify(execFile);

/** Starts mosquitto_sub with -d, resolves once it has its SUBACK; `done` resolves with its message lines. */
async function mosquittoSub(port: number, args: string[]): Promise<{ done: Promise<string[]> }> {
  const child = spawn('stdbuf', [
    '-oL',
    'mosquitto_sub',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    '-W',
    '20',
    ...args,
  ]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const done = new Promise<string[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () =>
      resolve(out.split('\n').filter((line) => line.length > 0 && !/^Client |^Subscribed/.test(line))),
    );
  });
  await waitFor(() => /received SUBACK/i.test(out), { what: 'mosquitto_sub SUBACK', timeoutMs: 5000 });
  return { done };
}

const pub = (port: number, args: string[]) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args]);

describe('mosquitto clients', { skip: peerSkip('mosquitto-clients') }, () => {
  test('mosquitto_pub at QoS 0, 1 and 2 reaches an MQTT.js subscriber', async () => {
    const broker = await openMqttBroker();
    const sub = await connect(broker.url(), { clientId: 'js-sub' });
    const received = collect(sub);
    await sub.subscribeAsync('deb/#', { qos: 2 });
    for (const qos of ['0', '1', '2'])
      await pub(broker.mqtt.ports.tcp!, ['-q', qos, '-t', `deb/q${qos}`, '-m', `m${qos}`]);
    await waitFor(() => received.length === 3, { what: '3 messages' });
    assert.deepEqual(received.map((m) => `${m.topic}:${m.qos}`).sort(), ['deb/q0:0', 'deb/q1:1', 'deb/q2:2']);
    await sub.endAsync();
    await broker.close();
  });

  test('mosquitto_sub receives MQTT.js publishes and a retained message at QoS 2', async () => {
    const broker = await openMqttBroker();
    await pub(broker.mqtt.ports.tcp!, ['-q', '1', '-r', '-t', 'deb/retained', '-m', 'kept']);
    const sub = await mosquittoSub(broker.mqtt.ports.tcp!, ['-q', '2', '-v', '-C', '3', '-t', 'deb/#']);
    const js = await connect(broker.url(), { clientId: 'js-pub' });
    await js.publishAsync('deb/a', 'one', { qos: 1 });
    await js.publishAsync('deb/b', 'two', { qos: 2 });
    assert.deepEqual((await sub.done).sort(), ['deb/a one', 'deb/b two', 'deb/retained kept']);
    await js.endAsync();
    await broker.close();
  });

  test('mosquitto_sub consumes $queue/<name> and $share/<group>/<filter>', async () => {
    const broker = await openMqttBroker();
    await broker.engine.createQueue('deb-jobs', { subscriptions: ['jobs/#'] });
    const queue = await mosquittoSub(broker.mqtt.ports.tcp!, ['-q', '1', '-C', '2', '-t', '$queue/deb-jobs']);
    const share = await mosquittoSub(broker.mqtt.ports.tcp!, ['-q', '1', '-C', '2', '-t', '$share/deb/sensors/+']);
    await pub(broker.mqtt.ports.tcp!, ['-q', '1', '-t', 'jobs/1', '-m', 'j1']);
    await pub(broker.mqtt.ports.tcp!, ['-q', '1', '-t', 'jobs/2', '-m', 'j2']);
    await pub(broker.mqtt.ports.tcp!, ['-q', '1', '-t', 'sensors/t', '-m', 's1']);
    await pub(broker.mqtt.ports.tcp!, ['-q', '1', '-t', 'sensors/h', '-m', 's2']);
    assert.deepEqual(await queue.done, ['j1', 'j2']);
    assert.deepEqual(await share.done, ['s1', 's2']);
    await waitFor(() => broker.engine.getQueue('deb-jobs').depth === 0, { what: 'queue drained by PUBACKs' });
    await broker.close();
  });
});

describe('paho-mqtt', { skip: peerSkip('paho') }, () => {
  const paho = (port: number, script: string) =>
    run('/usr/bin/python3', ['-c', `import paho.mqtt.client as mqtt, sys, time\nport = ${port}\n${script}`], {
      timeout: 15_000,
    });
  // paho 1.x and 2.x differ in the constructor; this works on both.
  const client = (id: string, clean: boolean) =>
    `def make():\n  kw = dict(client_id='${id}', clean_session=${clean ? 'True' : 'False'})\n` +
    `  if hasattr(mqtt, 'CallbackAPIVersion'): kw['callback_api_version'] = mqtt.CallbackAPIVersion.VERSION1\n` +
    `  return mqtt.Client(**kw)\n`;

  test('a paho persistent session keeps its subscription and messages across a broker restart', async () => {
    const broker = await openMqttBroker();
    const port = broker.mqtt.ports.tcp!;
    await paho(
      port,
      client('paho-keeper', false) +
        `import threading\nev = threading.Event()\nc = make()\nc.on_subscribe = lambda *a: ev.set()\n` +
        `c.connect('127.0.0.1', port)\nc.loop_start()\nc.subscribe('paho/#', qos=1)\nev.wait(5)\n` +
        `c.disconnect(); c.loop_stop()\n`,
    );
    const js = await connect(broker.url(), { clientId: 'paho-feeder' });
    for (let i = 0; i < 5; i++) await js.publishAsync(`paho/${i}`, `p${i}`, { qos: 1 });
    await js.endAsync();
    await broker.restart();
    const { stdout } = await paho(
      broker.mqtt.ports.tcp!,
      client('paho-keeper', false) +
        `got = []\nc = make()\nc.on_message = lambda cl, u, m: got.append(m.payload.decode())\n` +
        `c.connect('127.0.0.1', port)\nc.loop_start()\nend = time.time() + 10\n` +
        `while len(got) < 5 and time.time() < end: time.sleep(0.02)\n` +
        `c.disconnect(); c.loop_stop()\nprint(','.join(got))\n`,
    );
    assert.equal(stdout.trim(), 'p0,p1,p2,p3,p4');
    await broker.close();
  });

  test('paho publishes at QoS 2 with a will; the will fires when it drops', async () => {
    const broker = await openMqttBroker();
    const sub = await connect(broker.url(), { clientId: 'paho-watch' });
    const received = collect(sub);
    await sub.subscribeAsync('pw/#', { qos: 2 });
    await paho(
      broker.mqtt.ports.tcp!,
      client('paho-pub', true) +
        `c = make(); c.will_set('pw/will', 'gone', qos=1)\nc.connect('127.0.0.1', port)\nc.loop_start()\n` +
        `i = c.publish('pw/data', 'exactly once', qos=2); i.wait_for_publish(5)\n` +
        `c.loop_stop(); c.socket().close()\n`,
    );
    await waitFor(() => received.length === 2, { what: 'data and will' });
    assert.deepEqual(received.map((m) => `${m.topic}=${m.payload}`).sort(), ['pw/data=exactly once', 'pw/will=gone']);
    await sub.endAsync();
    await broker.close();
  });
});
