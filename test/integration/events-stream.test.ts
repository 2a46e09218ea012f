// Live events over server-sent events (GET /api/v1/events) and the topic tree, with real
// sockets: fetch through the typed client, curl -N, and a raw socket that stops reading.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHttpClient, type HttpClient } from '../../core/api/client.ts';
import { brokerEventSchema, contract, type BrokerEvent } from '../../core/api/contract.ts';
import { createService } from '../../core/api/service.ts';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { peerSkip } from '../helpers/peers.ts';

describe('live events', () => {
  let broker: Broker;
  let client: HttpClient;
  let cleanup: () => Promise<void>;
  before(async () => {
    const started = await startTestBroker(
      { http: { events: { heartbeatMs: 50, maxBufferedBytes: 16 * 1024 } } },
      { rateIntervalMs: 50 },
    );
    ({ broker, cleanup } = started);
    client = createHttpClient(broker.httpUrl);
  });
  after(() => cleanup());

  it('topic tree frames reach an HTTP subscriber as server-sent events', async () => {
    const frames: BrokerEvent[] = [];
    const subscription = client.subscribe('events.stream', { tree: 'sse-tree/#' }, (event) =>
      frames.push(brokerEventSchema.parse(event)),
    );
    await subscription.ready;
    for (let i = 0; i < 20; i++) await client.call('messages.publish', { topic: 'sse-tree/x', payload: `v${i}` });
    await waitFor(
      () =>
        frames.some((e) => e.type === 'topics' && e.topics.some((n) => n.topic === 'sse-tree/x' && n.messages === 20)),
      { what: 'a frame with 20 messages counted' },
    );
    subscription.close();
  });

  it('a subscriber receives each matching message once, with a payload preview, even when its filters overlap', async () => {
    const events: BrokerEvent[] = [];
    const subscription = client.subscribe(
      'events.stream',
      { topics: ['plant/#', 'plant/+/temp'], previewBytes: 8 },
      (event) => events.push(brokerEventSchema.parse(event)),
    );
    await subscription.ready;
    await client.call('messages.publish', {
      topic: 'plant/a/temp',
      payload: 'twenty-one degrees',
      contentType: 'text/plain',
      headers: { line: '7' },
    });
    await client.call('messages.publish', { topic: 'other/a', payload: 'not for us' });
    await client.call('messages.publish', {
      topic: 'plant/bin',
      payload: Buffer.from([0xff, 0, 1]).toString('base64'),
      payloadEncoding: 'base64',
    });
    await waitFor(() => events.filter((e) => e.type === 'message').length >= 2, { what: 'two message events' });
    subscription.close();
    await subscription.closed;
    const messages = events.filter((e) => e.type === 'message');
    assert.equal(messages.length, 2);
    assert.deepEqual(
      { ...messages[0], id: 'x', timestamp: 0 },
      {
        type: 'message',
        id: 'x',
        timestamp: 0,
        topic: 'plant/a/temp',
        size: 18,
        contentType: 'text/plain',
        headers: { line: '7' },
        protocol: 'http',
        payload: 'twenty-o',
        payloadEncoding: 'utf8',
        truncated: true,
      },
    );
    assert.equal(messages[1]!.type === 'message' && messages[1]!.payloadEncoding, 'base64');
  });

  it('stats events arrive once per sampling interval with the stats.get shape', async () => {
    const stats: BrokerEvent[] = [];
    const subscription = client.subscribe('events.stream', { stats: true }, (event) => stats.push(event));
    await subscription.ready;
    await waitFor(() => stats.length >= 3, { what: 'three stats events' });
    subscription.close();
    await subscription.closed;
    for (const event of stats) {
      assert.equal(event.type, 'stats');
      if (event.type === 'stats') contract['stats.get'].output.parse(event.stats);
    }
  });

  it('curl -N sees event blocks and heartbeat comments', { skip: peerSkip('curl') }, async () => {
    const curl = spawn('curl', ['-sN', `${broker.httpUrl}/api/v1/events?topics=curl%2F%23`]);
    let text = '';
    curl.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    await waitFor(() => text.includes(': sluice events'), { what: 'the stream to open' });
    await client.call('messages.publish', { topic: 'curl/x', payload: 'hi' });
    await waitFor(() => text.includes('event: message') && text.includes(': ping'), { what: 'an event and a ping' });
    curl.kill();
    const data = text.split('\n').find((line) => line.startsWith('data: '))!;
    const event = brokerEventSchema.parse(JSON.parse(data.slice(6)));
    assert.equal(event.type === 'message' && event.topic, 'curl/x');
  });

  it('a client that stops reading has events dropped and counted, then is told how many', async () => {
    const socket = connect(Number(new URL(broker.httpUrl).port), '127.0.0.1');
    socket.write('GET /api/v1/events?topics=flood%2F%23 HTTP/1.1\r\nHost: x\r\n\r\n');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    await waitFor(() => text.includes(': sluice events'), { what: 'the stream to open' });
    socket.pause(); // stops reading: the kernel buffers fill, then the server's bounded buffer
    const payload = 'x'.repeat(4000);
    for (let batch = 0; batch < 40; batch++)
      await Promise.all(Array.from({ length: 50 }, () => broker.engine.publish({ topic: 'flood/a', payload })));
    socket.resume();
    await waitFor(() => text.includes('event: dropped'), { what: 'a dropped event', timeoutMs: 10_000 });
    socket.destroy();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('data: {"type":"dropped"'))!
      .slice(6);
    const dropped = brokerEventSchema.parse(JSON.parse(line));
    assert.ok(dropped.type === 'dropped' && dropped.dropped > 0 && dropped.totalDropped >= dropped.dropped);
    const received = text.split('event: message').length - 1;
    assert.ok(received < 2000, `received ${received} of 2000: some had to be dropped`);
  });

  it('a bad topic filter is refused with problem+json before the stream starts', async () => {
    const response = await fetch(`${broker.httpUrl}/api/v1/events?topics=a%23`);
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await response.json()) as { code: string }).code, 'invalid-topic-filter');
  });

  it('the topic tree shows each topic with its count, rate and last message', async () => {
    for (let n = 0; n < 3; n++) await client.call('messages.publish', { topic: 'tree/a', payload: `v${n}` });
    await client.call('messages.publish', { topic: 'tree/b/c', payload: 'only' });
    const tree = await client.call('topics.tree', { filter: 'tree/#' });
    contract['topics.tree'].output.parse(tree);
    assert.deepEqual(
      tree.topics.map((t) => [t.topic, t.messages, t.lastMessage.payload]),
      [
        ['tree/a', 3, 'v2'],
        ['tree/b/c', 1, 'only'],
      ],
    );
    await waitFor(async () => (await client.call('topics.tree', { filter: 'tree/#' })).topics[0]!.ratePerSec === 0, {
      what: 'the rate to be sampled',
    });
  });
});

describe('topic tree bounds', () => {
  it('topics beyond the cap are not tracked; their messages are counted', async () => {
    const test = await openTestEngine();
    const service = createService(test.engine, { topicTree: { maxTopics: 2, previewBytes: 4 } });
    for (const topic of ['a', 'b', 'c', 'c', 'a']) await test.engine.publish({ topic, payload: 'long payload' });
    const tree = await service.call('topics.tree', {});
    assert.deepEqual(
      tree.topics.map((t) => [t.topic, t.messages, t.lastMessage.payload, t.lastMessage.truncated]),
      [
        ['a', 2, 'long', true],
        ['b', 1, 'long', true],
      ],
    );
    assert.equal(tree.untrackedMessages, 2);
    assert.equal(tree.tracked, 2);
    service.close();
    await test.cleanup();
  });

  it('topic tree frames are coalesced: 2,000 messages on two topics arrive as a few frames with totals', async () => {
    const test = await openTestEngine();
    const service = createService(test.engine, { treeFrameMs: 100 });
    const frames: Extract<BrokerEvent, { type: 'topics' }>[] = [];
    const unsubscribe = service.subscribe('events.stream', { tree: 'plant/#', previewBytes: 64 }, (event) => {
      if (event.type === 'topics') frames.push(event);
      else assert.fail(`only topics frames were asked for, got ${event.type}`);
    });
    const publishes: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      publishes.push(test.engine.publish({ topic: 'plant/a', payload: `a${i}` }));
      publishes.push(test.engine.publish({ topic: 'plant/b', payload: `b${i}` }));
      publishes.push(test.engine.publish({ topic: 'other/c', payload: `c${i}` }));
    }
    await Promise.all(publishes);
    const latest = (topic: string) => frames.flatMap((f) => f.topics).findLast((n) => n.topic === topic);
    await waitFor(() => latest('plant/a')?.messages === 1000 && latest('plant/b')?.messages === 1000, {
      what: 'frames with the final totals',
    });
    // Each frame names a topic at most once, and far fewer frames than messages arrived.
    for (const frame of frames) assert.equal(new Set(frame.topics.map((n) => n.topic)).size, frame.topics.length);
    assert.ok(frames.length < 100, `${frames.length} frames for 2,000 messages`);
    assert.equal(latest('plant/a')!.lastMessage.payload, 'a999');
    assert.equal(latest('plant/b')!.lastMessage.payload, 'b999');
    assert.equal(latest('other/c'), undefined, 'a topic outside the filter is not sent');
    assert.equal(frames.at(-1)!.tracked, 3);
    unsubscribe();
    service.close();
    await test.cleanup();
  });

  it('a topic tree frame carries the previewBytes the subscriber asked for', async () => {
    const test = await openTestEngine();
    const service = createService(test.engine, { treeFrameMs: 20, topicTree: { previewBytes: 4 } });
    const nodes: Extract<BrokerEvent, { type: 'topics' }>['topics'] = [];
    const unsubscribe = service.subscribe('events.stream', { tree: 't', previewBytes: 10 }, (event) => {
      if (event.type === 'topics') nodes.push(...event.topics);
    });
    await test.engine.publish({ topic: 't', payload: 'a longer payload' });
    await waitFor(() => nodes.length > 0, { what: 'a frame' });
    assert.deepEqual([nodes[0]!.lastMessage.payload, nodes[0]!.lastMessage.truncated], ['a longer p', true]);
    // The snapshot keeps the tree's own, shorter preview.
    const tree = await service.call('topics.tree', {});
    assert.equal(tree.topics[0]!.lastMessage.payload, 'a lo');
    unsubscribe();
    service.close();
    await test.cleanup();
  });

  it('the service subscription is what IPC forwards: same events, and unsubscribe stops them', async () => {
    const test = await openTestEngine();
    const service = createService(test.engine);
    const events: BrokerEvent[] = [];
    const unsubscribe = service.subscribe('events.stream', { topics: ['#'] }, (event) => events.push(event));
    await test.engine.publish({ topic: 'x', payload: 'one' });
    unsubscribe();
    await test.engine.publish({ topic: 'x', payload: 'two' });
    assert.deepEqual(
      events.map((e) => e.type === 'message' && e.payload),
      ['one'],
    );
    service.close();
    await test.cleanup();
  });
});
