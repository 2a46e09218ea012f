import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/wait.ts';
import { openAmqpBroker } from './amqp-helpers.ts';
import { peerSkip } from '../helpers/peers.ts';

// Debian's python3-qpid-proton imports only in Debian's /usr/bin/python3 (FACTS.md).
const script = fileURLToPath(new URL('./amqp-proton-client.py', import.meta.url));

function proton(mode: string, port: number, ...args: string[]): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/python3',
      [script, mode, `amqp://127.0.0.1:${port}`, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`proton ${mode} failed: ${error.message}\n${stderr}\n${stdout}`));
        else
          resolve(
            stdout
              .split('\n')
              .filter(Boolean)
              .map((line) => JSON.parse(line) as Record<string, unknown>),
          );
      },
    );
  });
}

describe('qpid-proton client', { skip: peerSkip('qpid-proton') }, () => {
  test('messages sent by qpid-proton are received by qpid-proton with their properties', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('py', {});
    await proton('send', broker.port, 'py', '3');
    assert.equal(broker.engine.getQueue('py').depth, 3);
    const got = await proton('receive', broker.port, 'queue://py', '3');
    assert.deepEqual(
      got.map((m) => m['body']),
      ['py-0', 'py-1', 'py-2'],
    );
    assert.equal(got[1]!['id'], 'py-id-1');
    assert.equal(got[1]!['correlation_id'], 'c-1');
    assert.equal(got[1]!['content_type'], 'text/plain');
    assert.deepEqual(
      {
        seq: (got[1]!['properties'] as Record<string, unknown>)['seq'],
        plant: (got[1]!['properties'] as Record<string, unknown>)['plant'],
      },
      { seq: 1, plant: 'north' },
    );
    await waitFor(() => broker.engine.getQueue('py').depth === 0, { what: 'all acked' });
    await broker.close();
  });

  test('accept, reject, release and modified from qpid-proton drive the queue state machine', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('outcomes', { subscriptions: ['o'] });
    for (const body of ['a', 'b', 'c', 'd']) await broker.engine.publish({ topic: 'o', payload: body });
    const seen = await proton('outcomes', broker.port, 'outcomes');
    // A released message goes back to the head of the queue, so the fourth receive is c again,
    // with delivery-count 0: the release did not count as an attempt.
    assert.deepEqual(
      seen.map((m) => [m['outcome'], m['body'], m['delivery_count']]),
      [
        ['accept', 'a', 0],
        ['reject', 'b', 0],
        ['release', 'c', 0],
        ['modified', 'c', 0],
      ],
    );
    await waitFor(() => broker.engine.getQueue('outcomes').inFlight === 0, { what: 'all settled' });
    const left = broker.engine.browseQueue('outcomes');
    assert.deepEqual(
      left.map((e) => [e.message.payload.toString(), e.deliveryCount]),
      [
        ['c', 1],
        ['d', 0],
      ],
      'modified{delivery-failed} counted one attempt',
    );
    const dead = broker.engine.deadMessages.list();
    assert.deepEqual(
      dead.map((d) => [d.message.payload.toString(), d.reason]),
      [['b', 'rejected']],
    );
    await broker.close();
  });

  test('a qpid-proton sender and receiver with the same link name both work (rhea patch: links by name and role)', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.createQueue('echo', {});
    const got = await proton('same-name', broker.port, 'echo');
    assert.deepEqual(got, [{ body: 'echo' }]);
    await broker.close();
  });

  test('a qpid-proton durable subscription survives a broker restart', async () => {
    const broker = await openAmqpBroker();
    await proton('durable-subscribe', broker.port, 'topic://py/events', 'py-client', 'py-sub');
    assert.ok(broker.engine.queueByName('amqp-sub/py-client/py-sub'));
    await broker.engine.publish({ topic: 'py/events', payload: 'while away' });
    await broker.restart();
    const got = await proton('durable-receive', broker.port, 'topic://py/events', 'py-client', 'py-sub', '1');
    assert.deepEqual(got, [{ body: 'while away' }]);
    await broker.close();
  });

  test('a qpid-proton receiver replays from a timestamp through a source filter', async () => {
    const broker = await openAmqpBroker();
    await broker.engine.publish({ topic: 'hist/a', payload: 'before' });
    await waitFor(() => Date.now() > broker.engine.log.lastTimestamp + 2, { what: 'clock moves on' });
    const from = Date.now();
    await broker.engine.publish({ topic: 'hist/a', payload: 'after-1' });
    await broker.engine.publish({ topic: 'hist/b', payload: 'after-2' });
    const got = await proton('replay', broker.port, 'topic://hist/#', String(from), '2');
    assert.deepEqual(got, [
      { body: 'after-1', replayed: 'true' },
      { body: 'after-2', replayed: 'true' },
    ]);
    await broker.close();
  });
});
