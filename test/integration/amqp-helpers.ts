import { execFile } from 'node:child_process';
import rhea, {
  type Connection,
  type ConnectionOptions,
  type Delivery,
  type EventContext,
  type Message,
  type Receiver,
  type ReceiverOptions,
  type Sender,
  type SenderOptions,
} from 'rhea';
import type { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { startAmqp, type AmqpConfigInput, type AmqpListener } from '../../core/protocols/amqp/index.ts';
import { openTestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

/** An engine on a temp dir with the AMQP listener on a free port; `restart` closes both and reopens on the same dir and port. */
export async function openAmqpBroker(config: AmqpConfigInput = {}): Promise<{
  readonly engine: Engine;
  readonly amqp: AmqpListener;
  readonly port: number;
  readonly dir: string;
  restart(): Promise<void>;
  close(): Promise<void>;
}> {
  const test = await openTestEngine();
  const settings: AmqpConfigInput = { port: 0, allowAnonymous: true, ...config };
  let listener = await startAmqp(test.engine, settings, silentLogger());
  return {
    get engine() {
      return test.engine;
    },
    get amqp() {
      return listener;
    },
    get port() {
      return listener.ports.amqp!;
    },
    dir: test.dir,
    async restart() {
      const port = listener.ports.amqp!;
      await listener.close();
      const engine = await test.reopen();
      listener = await startAmqp(engine, { ...settings, port }, silentLogger());
    },
    async close() {
      await listener.close();
      await test.cleanup();
    },
  };
}

/** Connects a rhea client and waits for the broker's OPEN. */
export function connect(port: number, options: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const container = rhea.create_container({
    id: options.container_id ?? `client-${Math.random().toString(36).slice(2)}`,
  });
  return new Promise((resolve, reject) => {
    const connection = container.connect({
      host: '127.0.0.1',
      port,
      reconnect: false,
      ...options,
    } as ConnectionOptions);
    // A refusal (OPEN then CLOSE with an error) usually arrives in one read: look again after it.
    connection.once('connection_open', () =>
      setImmediate(() =>
        connection.error === undefined ? resolve(connection) : reject(connection.error as unknown as Error),
      ),
    );
    connection.once('connection_error', (context: EventContext) =>
      reject(context.connection.error ?? new Error('connection error')),
    );
    connection.once('disconnected', (context: EventContext) => reject(context.error ?? new Error('disconnected')));
    connection.on('error', () => {});
  });
}

/** Closes a rhea connection and waits for the broker's CLOSE. */
export function closeConnection(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.is_closed()) return resolve();
    connection.once('connection_close', () => resolve());
    connection.once('disconnected', () => resolve());
    connection.close();
  });
}

/** Opens a sender and waits until the broker attached it (or refused it). */
export function openSender(
  connection: Connection,
  target: string | null,
  options: Partial<SenderOptions> = {},
): Promise<Sender> {
  return new Promise((resolve, reject) => {
    const sender = connection.open_sender({ target: target === null ? {} : { address: target }, ...options });
    // AMQP 1.0 §2.6.3: a refused attach carries a null target and is followed by a detach with the error.
    // Both usually arrive in one read: look again after it is processed.
    sender.once('sender_open', () => setImmediate(() => sender.error === undefined && resolve(sender)));
    sender.once('sender_error', (context: EventContext) => reject(context.sender!.error));
    sender.once('sender_close', (context: EventContext) => reject(context.sender!.error ?? new Error('closed')));
  });
}

/** A settled outcome as the publisher sees it. */
export type Outcome =
  { state: 'accepted' } | { state: 'rejected'; condition: string; description: string } | { state: 'released' };

/** Sends one message and resolves with the broker's outcome. */
export function send(sender: Sender, message: Message): Promise<Outcome> {
  return new Promise((resolve) => {
    const delivery = sender.send(message);
    outcomes.set(delivery, resolve);
    if (!hooked.has(sender)) {
      hooked.add(sender);
      sender.on('accepted', (c: EventContext) => outcomes.get(c.delivery!)?.({ state: 'accepted' }));
      sender.on('released', (c: EventContext) => outcomes.get(c.delivery!)?.({ state: 'released' }));
      sender.on('rejected', (c: EventContext) => {
        const error = (c.delivery!.remote_state as { error?: { condition: string; description: string } }).error;
        outcomes.get(c.delivery!)?.({
          state: 'rejected',
          condition: error?.condition ?? '',
          description: error?.description ?? '',
        });
      });
    }
  });
}
const outcomes = new WeakMap<Delivery, (outcome: Outcome) => void>();
const hooked = new WeakSet<Sender>();

/** Waits until `sender` can send. */
export async function sendable(sender: Sender): Promise<void> {
  await waitFor(() => sender.sendable(), { what: 'publisher credit' });
}

/** A receiver that records every message with its delivery; no auto-accept unless asked. */
export function openReceiver(
  connection: Connection,
  source: string | Record<string, unknown>,
  options: Partial<ReceiverOptions> = {},
): {
  receiver: Receiver;
  received: Array<{ message: Message; delivery: Delivery }>;
  opened: Promise<void>;
  closed: Promise<{ condition?: string; description?: string } | undefined>;
} {
  const received: Array<{ message: Message; delivery: Delivery }> = [];
  const receiver = connection.open_receiver({
    source: typeof source === 'string' ? { address: source } : source,
    autoaccept: false,
    credit_window: 0,
    ...options,
  } as ReceiverOptions);
  receiver.on('message', (context: EventContext) =>
    received.push({ message: context.message!, delivery: context.delivery! }),
  );
  const opened = new Promise<void>((resolve, reject) => {
    receiver.once('receiver_open', () =>
      setImmediate(() => (receiver.error === undefined ? resolve() : reject(receiver.error))),
    );
    receiver.once('receiver_error', (context: EventContext) => reject(context.receiver!.error));
  });
  opened.catch(() => {});
  const closed = new Promise<{ condition?: string; description?: string } | undefined>((resolve) =>
    receiver.once('receiver_close', () => resolve(receiver.error as { condition?: string } | undefined)),
  );
  return { receiver, received, opened, closed };
}

/** Payload of a received message as text (data section or string body). */
export function text(message: Message): string {
  const body = message.body as { content?: Buffer } | string | Buffer;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString();
  return Buffer.from(body.content ?? []).toString();
}

/** Runs a Python script with Debian's python3 (python3-qpid-proton); resolves with stdout lines. */
export function python(script: string, args: string[], timeoutMs = 20_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', script, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}\n${stdout}`));
      else resolve(stdout.split('\n').filter((line) => line.length > 0));
    });
  });
}
