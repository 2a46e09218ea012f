// kill -9 durability over AMQP (DESIGN.md: durability contract; STYLE.md §13): rhea publishers count
// every transfer the broker settled `accepted`; the broker is SIGKILLed mid-stream, restarted on the
// same directory, and in the end a receiver must find every accepted message in the queue.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import rhea, { type Connection, type EventContext } from 'rhea';
import { tempDir } from '../helpers/engine.ts';
import { freePort, kill9, startChildScript } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const rounds = 20;
const publishers = 3;

async function startBroker(dir: string, port: number): Promise<ChildProcess> {
  const { child } = await startChildScript('test/crash/amqp-child-broker.ts', [dir, String(port)], {
    what: 'child broker ready',
    timeoutMs: 15_000,
  });
  return child;
}

/** A publisher that keeps 20 transfers in flight and records each body the broker accepted. */
function publish(port: number, name: string, accepted: Set<string>): Connection {
  const connection = rhea.create_container({ id: name }).connect({ host: '127.0.0.1', port, reconnect: false });
  connection.on('error', () => {});
  connection.on('disconnected', () => {});
  const sender = connection.open_sender('topic://crash/' + name);
  const bodies = new WeakMap<object, string>();
  let seq = 0;
  let unsettled = 0;
  const fill = (): void => {
    while (sender.sendable() && unsettled < 20) {
      const body = `${name}-${seq++}`;
      unsettled++;
      bodies.set(sender.send({ body }), body);
    }
  };
  sender.on('sendable', fill);
  sender.on('accepted', (context: EventContext) => {
    unsettled--;
    accepted.add(bodies.get(context.delivery!)!);
    fill();
  });
  return connection;
}

test('every AMQP transfer settled accepted survives repeated kill -9 of the broker', async (t) => {
  const { dir, cleanup } = tempDir('sluice-amqp-crash-');
  const port = await freePort();
  const accepted = new Set<string>();
  try {
    for (let round = 0; round < rounds; round++) {
      const broker = await startBroker(dir, port);
      const before = accepted.size;
      const connections = Array.from({ length: publishers }, (_, p) => publish(port, `r${round}p${p}`, accepted));
      await waitFor(() => accepted.size > before + 100 + round * 7, { what: 'accepts this round', timeoutMs: 10_000 });
      await kill9(broker);
      for (const connection of connections) connection.close();
    }
    const broker = await startBroker(dir, port);
    const received = new Set<string>();
    const connection = rhea
      .create_container({ id: 'crash-reader' })
      .connect({ host: '127.0.0.1', port, reconnect: false });
    connection.on('disconnected', () => {});
    const receiver = connection.open_receiver({ source: { address: 'queue://amqp-crash' }, credit_window: 500 });
    receiver.on('message', (context: EventContext) => received.add(String(context.message!.body)));
    await waitFor(() => [...accepted].every((body) => received.has(body)), {
      what: `all ${accepted.size} accepted messages`,
      timeoutMs: 30_000,
    });
    const lost = [...accepted].filter((body) => !received.has(body));
    assert.deepEqual(lost, []);
    t.diagnostic(`${rounds} kill -9 rounds, ${accepted.size} accepted, ${received.size} distinct received`);
    connection.close();
    await kill9(broker);
  } finally {
    cleanup();
  }
});
