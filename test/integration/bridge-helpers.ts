// Real upstream brokers for the bridge tests, each a test-owned process on 127.0.0.1 with its
// own files in a temp dir: Debian's Mosquitto and Debian's RabbitMQ (AMQP 1.0 plugin). No
// system service is used or needed.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient, type OnMessageCallback } from 'mqtt';
import rhea, { type Connection, type EventContext } from 'rhea';
import type { TestContext } from 'node:test';
import { startBridges, type BridgeConfigInput } from '../../core/bridges/index.ts';
import { silentLogger } from '../../core/log.ts';
import { openTestEngine, tempDir } from '../helpers/engine.ts';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

export { freePort };

/** Resolves once something accepts TCP connections on the port. */
async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const { connect } = await import('node:net');
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    { timeoutMs, intervalMs: 50, what },
  );
}

async function stopProcess(child: ChildProcess | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A Mosquitto broker owned by the test: stop and start it again on the same port and state. */
export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM): persistent sessions and their queued messages are saved. */
  stop(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open but nothing answers, like a link that went dead. */
  freeze(): void;
  /** Thaws it (SIGCONT). */
  thaw(): void;
  cleanup(): Promise<void>;
}

/**
 * Starts `mosquitto -c <conf>` on a free loopback port, with persistence in a temp dir (so a
 * persistent observer keeps receiving across a stop/start) and no queue limits (Mosquitto's
 * default drops QoS 1 messages past 1000 queued: FACTS.md). `users` turns on password auth.
 */
export async function startMosquitto(options: { users?: Record<string, string> } = {}): Promise<Mosquitto> {
  const { dir, cleanup } = tempDir('sluice-mosquitto-');
  const port = await freePort();
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence true',
    `persistence_location ${dir}/`,
    'max_queued_messages 0',
    'max_inflight_messages 20',
    'log_dest none',
  ];
  // Run as root (CI), Mosquitto would switch to the mosquitto user and lose the temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.users) {
    const passwords = join(dir, 'passwords');
    writeFileSync(passwords, '');
    for (const [user, password] of Object.entries(options.users))
      execFileSync('mosquitto_passwd', ['-b', passwords, user, password], { stdio: 'ignore' });
    lines.push('allow_anonymous false', `password_file ${passwords}`);
  } else lines.push('allow_anonymous true');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let child: ChildProcess | null = null;
  const broker: Mosquitto = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
      await waitForPort(port, 10_000, 'mosquitto listening');
    },
    async stop() {
      await stopProcess(child);
      child = null;
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async cleanup() {
      child?.kill('SIGCONT');
      await stopProcess(child);
      child = null;
      cleanup();
    },
  };
  await broker.start();
  return broker;
}

/** MQTT.js connected to an upstream (v5 by default), waiting for CONNACK. */
export function connectMqtt(
  url: string,
  options: IClientOptions = {},
  onMessage?: OnMessageCallback,
): Promise<MqttClient> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  // Before CONNECT, not after the await: a resumed session's queued messages arrive right behind the
  // CONNACK, in the same read, and MQTT.js acknowledges them whether or not anyone listens.
  if (onMessage) client.on('message', onMessage);
  // As mqtt.connectAsync: resolve on CONNACK (or end), reject on error.
  return new Promise((resolve, reject) => {
    const stopListening = () => client.off('connect', onConnect).off('end', onConnect).off('error', onError);
    const onConnect = () => {
      stopListening();
      resolve(client);
    };
    const onError = (error: Error) => {
      stopListening();
      client.end();
      reject(error);
    };
    client.on('connect', onConnect).on('end', onConnect).on('error', onError);
  });
}

/** A RabbitMQ node owned by the test, AMQP 1.0 plugin on, guest/guest allowed on loopback. */
export interface Rabbit {
  readonly port: number;
  /** The MQTT plugin's port, when started with `{ mqtt: true }`. */
  readonly mqttPort?: number;
  /** Runs rabbitmqctl against this node; resolves with its stdout (rejects on a non-zero exit). */
  ctl(args: readonly string[]): Promise<string>;
  /** The Erlang VM's process id (the node's CPU and memory are there), NaN when not running. */
  vmPid(): number;
  start(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Starts Debian's RabbitMQ as a test-owned node: its own node name, Mnesia dir, config, enabled
 * plugins file and epmd (on its own port, stopped at cleanup), listening on a free loopback port.
 * Takes about 10 s on the CI machine.
 */
export async function startRabbit(options: { readonly mqtt?: boolean } = {}): Promise<Rabbit> {
  const { dir, cleanup } = tempDir('sluice-rabbit-');
  const port = await freePort();
  const mqttPort = options.mqtt ? await freePort() : undefined;
  const distPort = await freePort();
  const epmdPort = await freePort();
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${port}`,
      'loopback_users = none',
      'log.console = false',
      'log.file = false',
      // The temp dir's disk may be nearly full on a busy machine; the test stores little.
      'disk_free_limit.absolute = 1MB',
      ...(mqttPort !== undefined ? [`mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`] : []),
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'enabled_plugins'),
    mqttPort !== undefined ? '[rabbitmq_amqp1_0,rabbitmq_mqtt].\n' : '[rabbitmq_amqp1_0].\n',
  );
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `sluice${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_EPMD_PORT: String(epmdPort),
  };
  const epmd = spawn('epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore', env });
  await waitForPort(epmdPort, 5000, 'epmd listening');
  let child: ChildProcess | null = null;
  // The script runs the Erlang VM as its child: signal the whole process group, then wait for
  // the VM (named by its pid file) to be gone.
  const stopNode = async () => {
    if (!child?.pid) return;
    const group = -child.pid;
    const vm = Number(readFileSafe(join(dir, 'rabbit.pid')));
    signalGroup(group, 'SIGTERM');
    try {
      await waitFor(() => !alive(vm) && child?.exitCode !== null, { timeoutMs: 20_000, what: 'rabbitmq stopped' });
    } catch {
      signalGroup(group, 'SIGKILL');
      await waitFor(() => !alive(vm), { timeoutMs: 5000, what: 'rabbitmq killed' });
    }
    child = null;
  };
  const rabbit: Rabbit = {
    port,
    ...(mqttPort !== undefined && { mqttPort }),
    ctl: (args) =>
      new Promise((resolve, reject) =>
        execFile('/usr/lib/rabbitmq/bin/rabbitmqctl', [...args], { env, timeout: 60_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout),
        ),
      ),
    vmPid: () => Number(readFileSafe(join(dir, 'rabbit.pid')) || NaN),
    async start() {
      child = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { stdio: 'ignore', env, detached: true });
      await waitForPort(port, mqttPort !== undefined ? 180_000 : 60_000, 'rabbitmq listening');
      if (mqttPort !== undefined) await waitForPort(mqttPort, 120_000, 'rabbitmq mqtt listening');
    },
    stop: stopNode,
    async cleanup() {
      await stopNode();
      await stopProcess(epmd);
      cleanup();
    },
  };
  await rabbit.start();
  return rabbit;
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(group, signal);
  } catch {
    // already gone
  }
}

/** A plain rhea client connection to the test RabbitMQ. */
export async function connectAmqp(port: number): Promise<Connection> {
  const connection = rhea
    .create_container()
    .connect({ host: '127.0.0.1', port, username: 'guest', password: 'guest', reconnect: false });
  await new Promise<void>((resolve, reject) => {
    connection.once('connection_open', () => resolve());
    connection.once('disconnected', (context: EventContext) => reject(context.error ?? new Error('disconnected')));
  });
  // The test stops RabbitMQ under this connection on purpose: its forced close is expected.
  connection.on('error', () => {});
  connection.on('connection_error', () => {});
  connection.on('disconnected', () => {});
  return connection;
}

/** Receives everything from an address, accepting each: `{ subject, payload, properties }` in arrival order. */
export function amqpCollect(
  connection: Connection,
  address: string,
): Array<{ subject: string | undefined; payload: string; properties: Record<string, unknown> }> {
  const received: Array<{ subject: string | undefined; payload: string; properties: Record<string, unknown> }> = [];
  // durable: the RabbitMQ 3.x plugin declares /queue/<name> as durable or not from the terminus.
  const receiver = connection.open_receiver({ source: { address, durable: 2 }, autoaccept: true, credit_window: 100 });
  receiver.on('message', (context: EventContext) => {
    const body = context.message!.body as { content?: Buffer } | Buffer | string;
    const payload = Buffer.isBuffer(body)
      ? body.toString()
      : typeof body === 'string'
        ? body
        : (body.content?.toString() ?? '');
    received.push({
      subject: context.message!.subject,
      payload,
      properties: (context.message!.application_properties ?? {}) as Record<string, unknown>,
    });
  });
  return received;
}

/** Sends messages to an address and resolves when all are accepted. */
export async function amqpSend(
  connection: Connection,
  address: string,
  messages: Array<{ subject: string; payload: string; properties?: Record<string, unknown> }>,
): Promise<void> {
  const sender = connection.open_sender({ target: { address, durable: 2 } });
  let next = 0;
  let accepted = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < messages.length && sender.sendable()) {
        const m = messages[next++]!;
        sender.send({
          subject: m.subject,
          durable: true,
          body: rhea.message.data_section(Buffer.from(m.payload)),
          application_properties: m.properties ?? {},
        });
      }
    };
    sender.on('sendable', pump);
    sender.on('accepted', () => {
      if (++accepted === messages.length) resolve();
    });
    sender.on('rejected', (context: EventContext) => reject(new Error(JSON.stringify(context.delivery!.remote_state))));
    sender.on('sender_error', (context: EventContext) => reject(context.sender!.error as Error));
    sender.on('sender_close', () => reject(new Error('sender closed')));
    setTimeout(() => reject(new Error(`amqpSend: ${accepted}/${messages.length} accepted in 10 s`)), 10_000).unref();
    pump();
  });
  sender.close();
}

/**
 * Checks what an upstream received against what was sent, in order: after dropping repeats,
 * exactly the sent sequence; each repeat re-sends a message already seen (at-least-once).
 * Returns the number of repeats.
 */
export function orderedWithRepeats(received: readonly string[], sent: readonly string[]): number {
  const seen = new Set<string>();
  const firsts: string[] = [];
  let repeats = 0;
  for (const item of received) {
    if (seen.has(item)) repeats++;
    else {
      seen.add(item);
      firsts.push(item);
    }
  }
  if (firsts.length !== sent.length || firsts.some((item, i) => item !== sent[i])) {
    const at = firsts.findIndex((item, i) => item !== sent[i]);
    throw new Error(
      `upstream order differs at ${at}: got ${firsts[at]} expected ${sent[at]} ` +
        `(${firsts.length} distinct of ${sent.length})`,
    );
  }
  return repeats;
}

/** An engine with bridges, closed when the test ends even if it fails (no timers left behind). */
export async function withBridges(t: TestContext, configs: BridgeConfigInput[]) {
  const test = await openTestEngine();
  const bridges = await startBridges(test.engine, configs, silentLogger(), { dataDir: test.dir });
  let closed = false;
  t.after(async () => {
    if (!closed) await bridges.close().then(() => test.cleanup());
  });
  return {
    engine: test.engine,
    bridges,
    status: (name: string) => bridges.statuses().find((s) => s.name === name)!,
    close: async () => {
      closed = true;
      await bridges.close();
      await test.cleanup();
    },
  };
}
