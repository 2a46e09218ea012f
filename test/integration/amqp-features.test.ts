import assert from 'node:assert/strict';
import { connect as rawConnect } from 'node:net';
import { describe, test } from 'node:test';

import { waitFor } from '../helpers/wait.ts';
import {
  closeConnection,
  connect,
  openAmqpBroker,
  openReceiver,
  openSender,
  send,
  sendable,
  text,
} from './amqp-helpers.ts';

describe('addressing', () => {
  test('a topic receiver with wildcards gets live messages from topic:// and /topic/ senders', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'topic://plant/+/temp', { autoaccept: true });
    await opened;
    receiver.add_credit(10);
    const a = await openSender(connection, 'topic://plant/line1/temp');
    const b = await openSender(connection, '/topic/plant/line2/temp');
    const c = await openSender(connection, 'topic://plant/line1/pressure');
    await Promise.all([sendable(a), sendable(b), sendable(c)]);
    await send(a, { body: 'a' });
    await send(c, { body: 'not matched' });
    await send(b, { body: 'b' });
    await waitFor(() => received.length === 2, { what: '2 live messages' });
    assert.deepEqual(received.map((r) => text(r.message)).sort(), ['a', 'b']);
    assert.equal(received[0]!.message.to, 'topic://plant/line1/temp');
    await closeConnection(connection);
    await broker.close();
  });

  test('a receiver on an unknown queue is refused with amqp:not-found', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const { opened } = openReceiver(connection, 'queue://missing');
    await assert.rejects(opened, (error: { condition?: string }) => error.condition === 'amqp:not-found');
    await closeConnection(connection);
    await broker.close();
  });
});

describe('broker shutdown', () => {
  // AMQP 1.0 §2.4.2: a peer is told why its connection ends. The broker writes CLOSE and drops the
  // socket in the same tick; the CLOSE must leave first (core/net.ts coalesceWrites).
  test('a closing broker sends each AMQP peer CLOSE with amqp:connection:forced before dropping it', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const closed = new Promise<string | undefined>((resolve) => {
      connection.once('connection_close', () => resolve((connection.error as { condition?: string })?.condition));
      connection.once('disconnected', () => resolve('disconnected without CLOSE'));
    });
    await broker.close();
    assert.equal(await closed, 'amqp:connection:forced');
  });
});

describe('headers', () => {
  test('AMQP properties and typed application properties survive the engine round trip', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('h', { subscriptions: ['h/#'] });
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'topic://h/1');
    await sendable(sender);
    const expiry = Date.now() + 60_000;
    await send(sender, {
      message_id: 'order-17',
      correlation_id: 'corr-9',
      reply_to: 'queue://replies',
      content_type: 'application/json',
      subject: 'new-order',
      priority: 7,
      absolute_expiry_time: new Date(expiry),
      application_properties: { plant: 'north', line: 3, urgent: true, ratio: 0.5, 'sluice-dmq-eligible': false },
      body: '{"qty":2}',
    } as never);
    const stored = broker.engine.browseQueue('h')[0]!.message;
    assert.equal(stored.contentType, 'application/json');
    assert.equal(stored.correlationId, 'corr-9');
    assert.equal(stored.replyTo, 'queue://replies');
    assert.equal(stored.priority, 7);
    assert.equal(stored.expiresAt, expiry);
    assert.equal(stored.dmqEligible, false);
    assert.equal(stored.headers['plant'], 'north');
    assert.equal(stored.headers['line'], '3');
    const { receiver, received, opened } = openReceiver(connection, 'h');
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1);
    const m = received[0]!.message;
    assert.equal(m.message_id, 'order-17');
    assert.equal(m.correlation_id, 'corr-9');
    assert.equal(m.reply_to, 'queue://replies');
    assert.equal(m.content_type, 'application/json');
    assert.equal(m.subject, 'new-order');
    assert.equal(m.priority, 7);
    assert.equal(new Date(m.absolute_expiry_time as unknown as Date).getTime(), expiry);
    assert.ok((m.ttl ?? 0) > 0 && (m.ttl ?? 0) <= 60_000);
    assert.equal(m.body, '{"qty":2}', 'an amqp-value string body comes back as a string');
    const props = m.application_properties!;
    assert.deepEqual(
      { plant: props['plant'], line: props['line'], urgent: props['urgent'], ratio: props['ratio'] },
      { plant: 'north', line: 3, urgent: true, ratio: 0.5 },
    );
    assert.equal(props['sluice-dmq-eligible'], false);
    assert.equal(props['sluice-message-id'], stored.id);
    assert.equal(props['amqp-types'], undefined, 'internal headers stay internal');
    received[0]!.delivery.accept();
    await closeConnection(connection);
    await broker.close();
  });
});

describe('durable subscriptions', () => {
  test('a durable topic subscription (link name + container id) keeps collecting across a broker restart', async () => {
    const broker = await openAmqpBroker();
    const source = { address: 'topic://alarms/#', durable: 2, expiry_policy: 'never' };
    const sub = await connect(broker.port, { container_id: 'hmi-1' });
    const first = openReceiver(sub, source, { name: 'alarms-sub' });
    await first.opened;
    first.receiver.detach();
    await waitFor(() => broker.engine.getQueue('amqp-sub/hmi-1/alarms-sub').consumers === 0);
    await closeConnection(sub);
    const pub = await connect(broker.port);
    const sender = await openSender(pub, 'topic://alarms/boiler');
    await sendable(sender);
    assert.deepEqual(await send(sender, { body: 'overheat' }), { state: 'accepted' });
    await closeConnection(pub);
    await broker.restart();
    const again = await connect(broker.port, { container_id: 'hmi-1' });
    const second = openReceiver(again, source, { name: 'alarms-sub' });
    await second.opened;
    second.receiver.add_credit(5);
    await waitFor(() => second.received.length === 1, { what: 'message kept while away' });
    assert.equal(text(second.received[0]!.message), 'overheat');
    second.received[0]!.delivery.accept();
    // Closing the link (detach closed=true) is a JMS unsubscribe: the queue goes.
    second.receiver.close();
    await waitFor(() => !broker.engine.queueByName('amqp-sub/hmi-1/alarms-sub'), { what: 'unsubscribed' });
    await closeConnection(again);
    await broker.close();
  });
});

describe('replay', () => {
  test('a receiver with sluice-replay-from gets the log from a timestamp, marked as replayed, then live messages', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.publish({ topic: 'log/a', payload: 'old' });
    await waitFor(() => Date.now() > broker.engine.log.lastTimestamp + 2, { what: 'clock moves on' });
    const from = Date.now();
    await broker.engine.publish({ topic: 'log/a', payload: 'recent-1' });
    await broker.engine.publish({ topic: 'other', payload: 'filtered out' });
    await broker.engine.publish({ topic: 'log/b', payload: 'recent-2' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, {
      address: 'topic://log/#',
      filter: { 'sluice-replay-from': `timestamp:${from}` },
    });
    await opened;
    receiver.add_credit(10);
    await waitFor(() => received.length === 2, { what: 'replayed messages' });
    assert.deepEqual(
      received.map((r) => text(r.message)),
      ['recent-1', 'recent-2'],
    );
    assert.equal(received[0]!.message.application_properties!['sluice-replayed'], 'true');
    for (const r of received) r.delivery.accept();
    await broker.engine.publish({ topic: 'log/c', payload: 'live' });
    await waitFor(() => received.length === 3, { what: 'live message after the replay' });
    assert.equal(text(received[2]!.message), 'live');
    received[2]!.delivery.accept();
    receiver.close();
    await waitFor(() => !broker.engine.listQueues().some((q) => q.name.startsWith('amqp-replay/')), {
      what: 'temporary replay queue removed',
    });
    await closeConnection(connection);
    await broker.close();
  });

  test('a replay from a message id not in the log detaches the link with amqp:not-found', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const { closed } = openReceiver(connection, {
      address: 'topic://x/#',
      filter: { 'sluice-replay-from': 'message-id:999' },
    });
    const error = await closed;
    assert.equal(error?.condition, 'amqp:not-found');
    assert.match(error?.description ?? '', /Message 999 is not in the log/);
    await closeConnection(connection);
    await broker.close();
  });
});

describe('security and limits', () => {
  test('without allowAnonymous, SASL PLAIN connects and ANONYMOUS is refused', async () => {
    const broker = await openAmqpBroker({ allowAnonymous: false });
    const ok = await connect(broker.port, { username: 'ops', password: 'secret' });
    const sender = await openSender(ok, 'topic://t');
    await sendable(sender);
    await send(sender, { body: 'x' });
    assert.equal(broker.engine.store.readLog(1, 10, 10)[0]!.props.publisher, 'ops');
    await closeConnection(ok);
    await assert.rejects(connect(broker.port, { username: 'anonymous' } as never));
    await broker.close();
  });

  test('one connection over maxConnections is closed with amqp:resource-limit-exceeded', async () => {
    const broker = await openAmqpBroker({ maxConnections: 1 });
    const first = await connect(broker.port);
    const second = await connect(broker.port).then(
      () => 'admitted',
      (error: { condition?: string }) => error.condition,
    );
    assert.equal(second, 'amqp:resource-limit-exceeded');
    assert.equal(broker.amqp.stats().refused, 1);
    await closeConnection(first);
    await broker.close();
  });

  test('a frame larger than maxFrameSize closes that connection with a framing error; others keep working', async () => {
    const broker = await openAmqpBroker({ maxFrameSize: 4096 });
    const bystander = await connect(broker.port);
    const sender = await openSender(bystander, 'topic://still/here');
    await sendable(sender);
    const socket = rawConnect(broker.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    const header = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
    // A minimal OPEN (container-id "x"), then a frame header announcing 1 MiB.
    const open = Buffer.from([0, 0, 0, 0x13, 2, 0, 0, 0, 0, 0x53, 0x10, 0xc0, 0x06, 0x01, 0xa1, 0x01, 0x78]);
    open.writeUInt32BE(open.length, 0);
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(1024 * 1024, 0);
    huge.writeUInt8(2, 4);
    socket.write(Buffer.concat([header, open]));
    await waitFor(() => Buffer.concat(chunks).includes(Buffer.from('product')), { what: 'broker OPEN' });
    socket.write(huge);
    await ended;
    assert.ok(Buffer.concat(chunks).includes(Buffer.from('amqp:connection:framing-error')), 'CLOSE carries the error');
    assert.deepEqual(await send(sender, { body: 'fine' }), { state: 'accepted' });
    await closeConnection(bystander);
    await broker.close();
  });

  test('a malformed frame closes that connection with amqp:decode-error and nothing else', async () => {
    const broker = await openAmqpBroker();
    const socket = rawConnect(broker.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    const header = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
    const open = Buffer.from([0, 0, 0, 0x13, 2, 0, 0, 0, 0, 0x53, 0x10, 0xc0, 0x06, 0x01, 0xa1, 0x01, 0x78]);
    open.writeUInt32BE(open.length, 0);
    socket.write(Buffer.concat([header, open]));
    await waitFor(() => Buffer.concat(chunks).includes(Buffer.from('product')), { what: 'broker OPEN' });
    // A frame whose performative is an unknown type code.
    socket.write(Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x99, 0xff]));
    await ended;
    assert.ok(Buffer.concat(chunks).includes(Buffer.from('amqp:decode-error')), 'CLOSE carries amqp:decode-error');
    const other = await connect(broker.port);
    await closeConnection(other);
    await broker.close();
  });
});
