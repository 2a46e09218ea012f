import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import rhea from 'rhea';
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

describe('publish', () => {
  test('a transfer is accepted only once the message is in the engine log', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('orders', { subscriptions: ['$queue/orders'] });
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'orders');
    await sendable(sender);
    const outcome = await send(sender, { body: 'first order' });
    assert.deepEqual(outcome, { state: 'accepted' });
    const stored = broker.engine.browseQueue('orders');
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.message.payload.toString(), 'first order');
    await closeConnection(connection);
    await broker.close();
  });

  test('a sender to an unknown queue is refused with amqp:not-found', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    await assert.rejects(openSender(connection, 'queue://nowhere'), (error: { condition?: string }) => {
      assert.equal(error.condition, 'amqp:not-found');
      return true;
    });
    await closeConnection(connection);
    await broker.close();
  });

  test('with autoCreateQueues an unknown queue is created on attach', async () => {
    const broker = await openAmqpBroker({ autoCreateQueues: true });
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'queue://made');
    await sendable(sender);
    assert.deepEqual(await send(sender, { body: 'x' }), { state: 'accepted' });
    assert.equal(broker.engine.getQueue('made').depth, 1);
    await closeConnection(connection);
    await broker.close();
  });

  test('a full reject-publisher queue rejects with amqp:resource-limit-exceeded', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('tiny', { subscriptions: ['tiny/#'], maxDepthMessages: 1 });
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'topic://tiny/a');
    await sendable(sender);
    assert.deepEqual(await send(sender, { body: 'fits' }), { state: 'accepted' });
    const outcome = await send(sender, { body: 'overflows' });
    assert.equal(outcome.state, 'rejected');
    assert.equal(outcome.state === 'rejected' && outcome.condition, 'amqp:resource-limit-exceeded');
    assert.match(outcome.state === 'rejected' ? outcome.description : '', /Queue "tiny" is full/);
    await closeConnection(connection);
    await broker.close();
  });

  test('a message with a wildcard "to" on the anonymous relay is rejected with amqp:invalid-field', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const sender = await openSender(connection, null);
    await sendable(sender);
    assert.deepEqual(await send(sender, { to: 'topic://relay/ok', body: 'fine' }), { state: 'accepted' });
    const outcome = await send(sender, { to: 'topic://relay/+', body: 'bad' });
    assert.equal(outcome.state === 'rejected' && outcome.condition, 'amqp:invalid-field');
    await closeConnection(connection);
    await broker.close();
  });

  test('a message too large for the engine is rejected with amqp:link:message-size-exceeded', async () => {
    const broker = await openAmqpBroker();
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'topic://big');
    await sendable(sender);
    const outcome = await send(sender, { body: rhea.message.data_section(Buffer.alloc(1024 * 1024 + 10)) });
    assert.equal(outcome.state === 'rejected' && outcome.condition, 'amqp:link:message-size-exceeded');
    await closeConnection(connection);
    await broker.close();
  });

  test('an accept and a reject from one group commit both reach the publisher', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('pair', { subscriptions: ['pair'], maxDepthMessages: 1 });
    const connection = await connect(broker.port);
    const sender = await openSender(connection, 'topic://pair');
    await sendable(sender);
    // Both transfers share one group commit: the first fits, the second overflows.
    const outcomes = await Promise.all([send(sender, { body: 'a' }), send(sender, { body: 'b' })]);
    assert.deepEqual(
      outcomes.map((o) => o.state),
      ['accepted', 'rejected'],
    );
    await closeConnection(connection);
    await broker.close();
  });
});

describe('consume', () => {
  test('a receiver gets no more messages than its link credit', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('credit', { subscriptions: ['credit'] });
    for (let i = 0; i < 10; i++) await broker.engine.publish({ topic: 'credit', payload: `m${i}` });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'credit');
    await opened;
    receiver.add_credit(3);
    await waitFor(() => received.length === 3, { what: '3 messages' });
    // One more commit cycle: nothing beyond the credit arrives.
    await broker.engine.commit.submit(() => undefined);
    await broker.engine.commit.submit(() => undefined);
    assert.equal(received.length, 3);
    assert.equal(broker.engine.getQueue('credit').inFlight, 3);
    receiver.add_credit(2);
    await waitFor(() => received.length === 5, { what: '5 messages' });
    assert.deepEqual(
      received.map((r) => text(r.message)),
      ['m0', 'm1', 'm2', 'm3', 'm4'],
    );
    await closeConnection(connection);
    await broker.close();
  });

  test('accepted removes the message; released redelivers it without counting the attempt', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('d', { subscriptions: ['d'] });
    await broker.engine.publish({ topic: 'd', payload: 'one' });
    await broker.engine.publish({ topic: 'd', payload: 'two' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'queue://d');
    await opened;
    receiver.add_credit(2);
    await waitFor(() => received.length === 2);
    assert.equal(received[0]!.message.delivery_count ?? 0, 0);
    assert.equal(received[0]!.message.first_acquirer, true);
    received[0]!.delivery.accept();
    received[1]!.delivery.release();
    receiver.add_credit(1);
    await waitFor(() => received.length === 3, { what: 'redelivery' });
    assert.equal(text(received[2]!.message), 'two');
    assert.equal(received[2]!.message.delivery_count ?? 0, 0, 'released does not count');
    received[2]!.delivery.accept();
    await waitFor(() => broker.engine.getQueue('d').depth === 0, { what: 'queue empty' });
    await closeConnection(connection);
    await broker.close();
  });

  test('rejected sends the message to the DMQ with the error text, and it redelivers to its queue', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('r', { subscriptions: ['r'] });
    await broker.engine.publish({ topic: 'r', payload: 'poison' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'r');
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1);
    received[0]!.delivery.reject({ condition: 'app:bad-order', description: 'order 7 has no lines' });
    await waitFor(() => broker.engine.deadMessages.list().length === 1, { what: 'dead message' });
    const dead = broker.engine.deadMessages.list()[0]!;
    assert.equal(dead.reason, 'rejected');
    assert.equal(dead.queue, 'r');
    assert.equal(dead.error, 'app:bad-order: order 7 has no lines');
    const result = await broker.engine.deadMessages.redeliver({ ids: [dead.id] });
    assert.equal(result.redelivered, 1);
    receiver.add_credit(1);
    await waitFor(() => received.length === 2, { what: 'redelivered message' });
    assert.equal(text(received[1]!.message), 'poison');
    received[1]!.delivery.accept();
    await closeConnection(connection);
    await broker.close();
  });

  test('modified with delivery-failed counts the attempt and max redelivery moves it to the DMQ', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('m', { subscriptions: ['m'], maxRedelivery: 1 });
    await broker.engine.publish({ topic: 'm', payload: 'flaky' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'm');
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1);
    received[0]!.delivery.modified({ delivery_failed: true });
    receiver.add_credit(1);
    await waitFor(() => received.length === 2);
    assert.equal(received[1]!.message.delivery_count, 1);
    assert.equal(received[1]!.message.first_acquirer, false);
    received[1]!.delivery.modified({ delivery_failed: true });
    await waitFor(() => broker.engine.deadMessages.list().length === 1, { what: 'dead message' });
    assert.equal(broker.engine.deadMessages.list()[0]!.reason, 'max-redelivery');
    await closeConnection(connection);
    await broker.close();
  });

  test('modified with undeliverable-here goes to another receiver, and is not offered to the refusing link again', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('u', { subscriptions: ['u'], maxRedelivery: 2 });
    const connection = await connect(broker.port);
    const first = openReceiver(connection, 'u');
    await first.opened;
    first.receiver.add_credit(1);
    await broker.engine.publish({ topic: 'u', payload: 'not for me' });
    await waitFor(() => first.received.length === 1);
    const second = openReceiver(connection, 'u');
    await second.opened;
    first.receiver.add_credit(5);
    first.received[0]!.delivery.modified({ undeliverable_here: true });
    second.receiver.add_credit(1);
    await waitFor(() => second.received.length === 1, { what: 'delivery to the other receiver' });
    assert.equal(text(second.received[0]!.message), 'not for me');
    assert.equal(first.received.length, 1);
    second.received[0]!.delivery.accept();
    await waitFor(() => broker.engine.getQueue('u').depth === 0);
    await closeConnection(connection);
    await broker.close();
  });

  test('a pre-settled receiver is at-most-once: the message is gone once sent', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('p', { subscriptions: ['p'] });
    await broker.engine.publish({ topic: 'p', payload: 'fire and forget' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'p', { snd_settle_mode: 1 } as never);
    await opened;
    receiver.add_credit(1);
    await waitFor(() => received.length === 1);
    assert.equal(received[0]!.delivery.remote_settled, true);
    await waitFor(() => broker.engine.getQueue('p').depth === 0, { what: 'acked on send' });
    await closeConnection(connection);
    await broker.close();
  });

  test('accept and reject sent by a receiver in the same tick both take effect (rhea patch: dispositions)', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('tick', { subscriptions: ['tick'] });
    await broker.engine.publish({ topic: 'tick', payload: 'good' });
    await broker.engine.publish({ topic: 'tick', payload: 'bad' });
    const connection = await connect(broker.port);
    const { receiver, received, opened } = openReceiver(connection, 'tick');
    await opened;
    receiver.add_credit(2);
    await waitFor(() => received.length === 2);
    received[0]!.delivery.accept();
    received[1]!.delivery.reject({ condition: 'app:no', description: 'second is bad' });
    await waitFor(() => broker.engine.getQueue('tick').depth === 0, { what: 'both settled' });
    const dead = broker.engine.deadMessages.list();
    assert.equal(dead.length, 1, 'the reject was not merged into the accept');
    assert.equal(dead[0]!.message.payload.toString(), 'bad');
    assert.equal(broker.engine.getQueue('tick').counters.acked, 1);
    await closeConnection(connection);
    await broker.close();
  });
});
