// Issue 16, item 8: the smaller holes. Login bodies are small and checked before parsing; an
// oversize body is answered 413 and the client gets to read it; requests node:http refuses still
// get problem+json; the store file is owner-only; `$share` queues count against a per-user limit;
// the JSON API refuses the media types browsers send cross-site.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../core/broker.ts';
import { waitFor } from '../helpers/wait.ts';
import { collect } from './mqtt-helpers.ts';
import { basic, limitedPassword, startSecuredBroker, tryMqtt } from './security-helpers.ts';

describe('security: the smaller holes', () => {
  let broker: Broker;
  let dir: string;
  let base: string;
  let mqttUrl: string;
  let admin: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, dir, mqttUrl, cleanup } = await startSecuredBroker({
      http: { maxBodyBytes: 64 * 1024 },
      security: { maxSharedQueuesPerUser: 2 },
    }));
    base = broker.httpUrl;
    admin = basic('admin', broker.firstRunAdmin!.password);
  });
  after(() => cleanup());

  /** Sends raw bytes and reads the whole answer (the server closes after a refusal). */
  function raw(request: string): Promise<{ status: number; type: string; body: string }> {
    const { hostname, port } = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = connectTcp(Number(port), hostname);
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({
          status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0),
          type: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '',
          body,
        });
      });
      socket.end(request);
    });
  }

  it('a login body over 16 KiB is refused with 413 before it is parsed', async () => {
    const response = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: 'x'.repeat(20_000) }),
    });
    assert.equal(response.status, 413);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
  });

  it('an oversize body is answered 413 and the client reads it instead of failing with EPIPE', async () => {
    const response = await fetch(`${base}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    });
    assert.equal(response.status, 413);
    const problem = (await response.json()) as { code: string };
    assert.equal(problem.code, 'payload-too-large');
  });

  it('a 65 KB URL is answered 431 with problem+json', async () => {
    const answer = await raw(`GET /api/v1/health?x=${'a'.repeat(65_000)} HTTP/1.1\r\nhost: x\r\n\r\n`);
    assert.equal(answer.status, 431);
    assert.equal(answer.type, 'application/problem+json');
    assert.equal((JSON.parse(answer.body) as { code: string }).code, 'request-header-fields-too-large');
  });

  it('a request that is not HTTP is answered 400 with problem+json', async () => {
    const answer = await raw('HELLO\r\n\r\n');
    assert.equal(answer.status, 400);
    assert.equal(answer.type, 'application/problem+json');
  });

  it('the JSON API refuses text/plain and browser form bodies (415)', async () => {
    for (const headers of <Array<Record<string, string>>>[
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://elsewhere.example' },
      { 'content-type': 'multipart/form-data; boundary=x' },
    ]) {
      const response = await fetch(`${base}/api/v1/queues`, {
        method: 'POST',
        headers: { authorization: admin, ...headers },
        body: JSON.stringify({ name: 'csrf' }),
      });
      assert.equal(response.status, 415, headers['content-type']);
      assert.equal(response.headers.get('content-type'), 'application/problem+json');
    }
    assert.equal(broker.engine.queueByName('csrf'), undefined);
  });

  it('the store file, which holds password hashes, is readable by its owner only', () => {
    for (const file of ['sluice.db', 'sluice.db-wal'])
      assert.equal(statSync(join(dir, file)).mode & 0o777, 0o600, file);
  });

  it('a user creates at most maxSharedQueuesPerUser $share queues; joining an existing group is free', async () => {
    const existing = await tryMqtt(mqttUrl, {
      protocolVersion: 5,
      username: 'admin',
      password: broker.firstRunAdmin!.password,
    });
    if (!('client' in existing)) assert.fail(`admin refused ${existing.refused}`);
    await existing.client.subscribeAsync('$share/admins/plant/line1/x', { qos: 1 });
    const connected = await tryMqtt(mqttUrl, { protocolVersion: 5, username: 'limited', password: limitedPassword });
    if (!('client' in connected)) assert.fail(`refused ${connected.refused}`);
    const codes: number[] = [];
    for (const filter of [
      '$share/g1/plant/line1/a',
      '$share/g2/plant/line1/a',
      '$share/g3/plant/line1/a',
      '$share/admins/plant/line1/x',
    ]) {
      const granted = await connected.client
        .subscribeAsync(filter, { qos: 1 })
        .catch((error: { packet?: { granted?: number[] } }) => error.packet?.granted?.map((qos) => ({ qos })) ?? []);
      codes.push(granted[0]?.qos ?? -1);
    }
    assert.deepEqual(codes, [1, 1, 0x87, 1]);
    assert.equal(broker.engine.queueByName('mqtt-share/g3/plant/line1/a'), undefined);
    await connected.client.endAsync();
    await existing.client.endAsync();
  });

  it('MQTT 3.1.1: a PUBLISH whose topic is not valid UTF-8 closes the connection, unacknowledged and undelivered [MQTT-1.5.3-1]', async () => {
    const watcher = await tryMqtt(mqttUrl, {
      protocolVersion: 4,
      username: 'admin',
      password: broker.firstRunAdmin!.password,
    });
    if (!('client' in watcher)) assert.fail(`admin refused ${watcher.refused}`);
    await watcher.client.subscribeAsync('#', { qos: 1 });
    const received = collect(watcher.client);
    const { hostname, port } = new URL(mqttUrl);
    const socket = connectTcp(Number(port), hostname);
    const answers: Buffer[] = [];
    let closed = false;
    socket.on('data', (chunk: Buffer) => answers.push(chunk));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    // CONNECT 3.1.1 by hand: clean session, user name and password (flags 0xC2), keep alive 30 s.
    const field = (text: string) => Buffer.concat([Buffer.from([0, Buffer.byteLength(text)]), Buffer.from(text)]);
    const connect = Buffer.concat([
      field('MQTT'),
      Buffer.from([4, 0xc2, 0, 30]),
      field('utf8-breaker'),
      field('admin'),
      field(broker.firstRunAdmin!.password),
    ]);
    assert.ok(connect.length < 128, 'one-byte remaining length');
    socket.write(Buffer.concat([Buffer.from([0x10, connect.length]), connect]));
    await waitFor(() => answers.length > 0, { what: 'CONNACK' });
    const topic = Buffer.from([0x61, 0x2f, 0xff, 0xfe, 0x62]); // "a/" + invalid bytes + "b"
    const payload = Buffer.from('bad topic');
    const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.from([0, 1]), payload]);
    socket.write(Buffer.concat([Buffer.from([0x32, body.length]), body])); // PUBLISH QoS 1, packet id 1
    await waitFor(() => closed, { what: 'the connection to close' });
    assert.equal(Buffer.concat(answers).length, 4, 'only the CONNACK came back, no PUBACK');
    await broker.service.call('messages.publish', { topic: 'a/after', payload: 'marker' });
    await waitFor(() => received.some((m) => m.topic === 'a/after'), { what: 'the marker' });
    assert.deepEqual(
      received.map((m) => m.topic),
      ['a/after'],
    );
    await watcher.client.endAsync();
  });
});
