// Broker processes for the benchmarks, and what they cost: `sluice serve` as a user runs it, Debian's
// Mosquitto, the engine-only MQTT child, and the CPU time and peak RSS of any of them read from
// /proc (user + sys of the broker process: far less sensitive to other load on a shared machine
// than throughput). An optional CPU list pins a broker with `taskset -c`.
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { createHttpClient } from '../core/api/client.ts';
import { brokerNodeFlags } from '../core/node-flags.ts';
import type { LoadSpec } from './mqtt-load.ts';
import { tempDir } from '../test/helpers/engine.ts';
import { freePort } from '../test/helpers/process.ts';

export { freePort };

const ownRoot = new URL('../', import.meta.url).pathname;

/** The user every benchmark client logs in as on `sluice serve` (security stays on, as shipped). */
export const benchUser = { username: 'bench', password: 'bench-password-1' } as const;

/** A broker process under test. */
export interface BrokerProcess {
  readonly pid: number;
  /** mqtt://… (MQTT brokers) */
  readonly mqttUrl?: string;
  /** AMQP port (brokers with an AMQP listener) */
  readonly amqpPort?: number;
  /** http://… with the UI (sluice serve) */
  readonly httpUrl?: string;
  /** Credentials of the bench user, when the broker has security on. */
  readonly auth?: { readonly username: string; readonly password: string };
  stop(): Promise<void>;
}

/** Resolves with the first stdout line of `child` that matches, rejects if it exits first. */
export function firstLine(child: ChildProcess, match: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before printing ${match}`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const found = line.match(match);
      if (!found) return;
      child.off('exit', onExit);
      lines.close();
      resolve(found);
    });
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const clockTicksPerSec = 100; // USER_HZ: 100 on Linux x86-64 and arm64 (getconf CLK_TCK)

/** CPU time (user + sys) the process has used so far, in µs (10 ms resolution). */
export function cpuMicros(pid: number): number {
  const { user, sys } = cpuSplitMicros(pid);
  return user + sys;
}

/**
 * CPU time of a process so far, user and system (kernel) apart, in µs. The split shows how much of
 * a broker's cost is system calls, whose price differs most between machines (a VM that traps
 * them is several times dearer than bare metal).
 */
export function cpuSplitMicros(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / clockTicksPerSec, sys: (Number(fields[12]) * 1e6) / clockTicksPerSec };
}

/** Peak resident set size of the process so far, in MB (VmHWM). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** `taskset -c <cpus>` in front of a command when `cpus` is given. */
function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
}

/**
 * `sluice serve` in its own process with its defaults (security on, HTTP with the UI, MQTT TCP and
 * WebSocket, AMQP; every port free), on a fresh data directory; the first-run admin creates the
 * bench user with a role that may publish and subscribe on `bench/#` only.
 */
export async function startSluiceServe(
  options: {
    cpus?: string;
    nodeFlags?: readonly string[];
    /** Another checkout's Sluice (before/after comparisons in one run); default this one. */
    checkout?: string;
  } = {},
) {
  const { dir, cleanup } = tempDir('sluice-bench-serve-');
  const root = options.checkout ?? ownRoot;
  // The `sluice` bin as users run it (the compiled core; a checkout without it falls back to tsx);
  // with the broker flags given here it serves in this one process, which is the one measured.
  const [command, args] = pinned(options.cpus, process.execPath, [
    ...(options.nodeFlags ?? brokerNodeFlags),
    join(root, 'bin/sluice.mjs'),
    'serve',
    ...(process.env.SLUICE_BENCH_CONFIG ? ['--config', process.env.SLUICE_BENCH_CONFIG] : []),
    ...['--data-dir', dir, '--http-port', '0', '--mqtt-port', '0', '--mqtt-ws-port', '0', '--amqp-port', '0'],
  ]);
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + String(chunk)).slice(-4000)));
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  const stop = async () => {
    await stopChild(child);
    cleanup();
  };
  try {
    await firstLine(child, /with password/);
    const httpUrl = /serving (http:\/\/\S+)/.exec(stdout)![1]!;
    const mqttUrl = /mqtt: (mqtt:\/\/\S+)/.exec(stdout)![1]!;
    const amqpPort = Number(/amqp: amqp:\/\/[^:\s]+:(\d+)/.exec(stdout)?.[1] ?? NaN);
    const password = /created user "admin" with password (\S+)/.exec(stdout)![1]!;
    const admin = createHttpClient(httpUrl);
    admin.setAuth({ username: 'admin', password });
    await admin.call('roles.put', {
      name: 'bench',
      description: 'benchmark clients',
      rules: [{ actions: ['publish', 'subscribe', 'consume'], patterns: ['bench/#'] }],
    });
    await admin.call('users.create', { name: benchUser.username, password: benchUser.password, roles: ['bench'] });
    const adminAuth = { username: 'admin', password };
    return {
      pid: child.pid!,
      httpUrl,
      mqttUrl,
      amqpPort,
      auth: benchUser,
      admin: adminAuth,
      stop,
    } satisfies BrokerProcess & {
      admin: typeof adminAuth;
    };
  } catch (error) {
    await stop();
    throw new Error(`sluice serve did not start: ${(error as Error).message}\n${stdout}\n${stderr}`);
  }
}

/** The engine and MQTT listener alone (bench/mqtt-broker-child.ts): no security, HTTP or AMQP. */
export async function startEngineChild(options: { cpus?: string } = {}): Promise<BrokerProcess> {
  const [command, args] = pinned(options.cpus, process.execPath, [
    ...brokerNodeFlags,
    '--import',
    'tsx',
    join(ownRoot, 'bench/mqtt-broker-child.ts'),
  ]);
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const [, port] = await firstLine(child, /^ready (\d+)$/);
  return { pid: child.pid!, mqttUrl: `mqtt://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/** Debian's Mosquitto: no persistence, drops nothing (max_queued_messages 0), anonymous. */
export async function startMosquitto(options: { cpus?: string } = {}): Promise<BrokerProcess> {
  // The free port may be taken again before mosquitto binds it (other processes share the
  // machine): try a few ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMosquittoOnce(options.cpus);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function startMosquittoOnce(cpus: string | undefined): Promise<BrokerProcess> {
  const { dir, cleanup } = tempDir('sluice-bench-mosquitto-');
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n`,
  );
  const [command, args] = pinned(cpus, 'mosquitto', ['-c', conf]);
  const child = spawn(command, args, { stdio: 'ignore' });
  const stop = async () => {
    await stopChild(child);
    cleanup();
  };
  for (let i = 0; ; i++) {
    const bound = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    if (bound && child.exitCode === null) break;
    if (i > 400 || child.exitCode !== null) {
      await stop();
      throw new Error(`mosquitto did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { pid: child.pid!, mqttUrl: `mqtt://127.0.0.1:${port}`, stop };
}

/** The median of the finite values (NaN when there is none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A number for a table ('—' when not measured). */
export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/**
 * The MQTT load generator (bench/mqtt-load.ts) for one shape against `broker` (as its bench user
 * when it has one), with the `measure` / `measured` handshake on its stdin and stdout; pinned to
 * `cpus` with `taskset -c` when given.
 */
export function spawnMqttLoad(
  broker: Pick<BrokerProcess, 'mqttUrl' | 'auth'>,
  shape: Pick<LoadSpec, 'qos' | 'publishers' | 'subscribers' | 'total' | 'warmup'>,
  cpus?: string,
): ChildProcessByStdio<Writable, Readable, null> {
  if (!broker.mqttUrl) throw new Error('the broker has no MQTT listener');
  const spec: LoadSpec = {
    url: broker.mqttUrl,
    ...shape,
    handshake: true,
    ...(broker.auth && { username: broker.auth.username, password: broker.auth.password }),
  };
  const [command, args] = pinned(cpus, process.execPath, [
    '--import',
    'tsx',
    join(ownRoot, 'bench/mqtt-load.ts'),
    JSON.stringify(spec),
  ]);
  return spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
}
