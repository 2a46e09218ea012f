/**
 * The broker under soak: `sluice serve` in a child process, started the way a user starts it
 * (its defaults, security on, every listener up, the broker's V8 flags), on fixed ports so the
 * clients can reconnect after a kill -9. Measures restart-to-ready and samples RSS and open file
 * descriptors from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerNodeFlags } from '../../core/node-flags.ts';
import { waitFor } from '../../test/helpers/wait.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The ports the broker keeps across restarts. */
export interface BrokerPorts {
  readonly http: number;
  readonly mqtt: number;
  readonly ws: number;
  readonly amqp: number;
}

/** One RSS / file descriptor reading. */
export interface ProcessSample {
  readonly rssBytes: number;
  readonly fds: number;
}

export class SoakBroker {
  private child: ChildProcess | undefined;
  private output = '';

  constructor(
    private readonly dataDir: string,
    private readonly configFile: string,
    readonly ports: BrokerPorts,
  ) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The admin's credentials the first start wrote to the data directory as `user:password` (README: first start). */
  adminCredentials(): { username: string; password: string } {
    const line = readFileSync(join(this.dataDir, 'initial-admin-password'), 'utf8').trim();
    const colon = line.indexOf(':');
    return { username: line.slice(0, colon), password: line.slice(colon + 1) };
  }

  /** Starts `sluice serve` and resolves with the milliseconds until it said it was serving. */
  async start(): Promise<number> {
    const startedAt = performance.now();
    this.output = '';
    const child = spawn(
      process.execPath,
      [
        // The `sluice` bin on the compiled core, as users run it; with the flags given here it
        // serves in this one process, so a kill -9 of the child is a kill -9 of the broker.
        ...brokerNodeFlags,
        join(root, 'bin/sluice.mjs'),
        'serve',
        ...['--config', this.configFile, '--data-dir', this.dataDir, '--log-level', 'warn'],
        ...['--http-port', String(this.ports.http), '--mqtt-port', String(this.ports.mqtt)],
        ...['--mqtt-ws-port', String(this.ports.ws), '--amqp-port', String(this.ports.amqp)],
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    await waitFor(() => /serving http/.test(this.output) || child.exitCode !== null, {
      what: 'sluice serve ready',
      timeoutMs: 60_000,
    });
    if (child.exitCode !== null) throw new Error(`sluice serve exited with ${child.exitCode}:\n${this.output}`);
    return performance.now() - startedAt;
  }

  /** What the broker printed since its last start (warnings and errors: it runs at --log-level warn). */
  printed(): string {
    return this.output;
  }

  /** How the broker ended when it is not running, or undefined while it runs. */
  exited(): string | undefined {
    const child = this.child;
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return child.signalCode !== null ? `killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
  }

  /** SIGKILL, the power cut: no shutdown code runs. */
  async kill9(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM: the broker drains and closes. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** RSS and open file descriptors of the running broker, or undefined while it is down. */
  sample(): ProcessSample | undefined {
    const pid = this.child?.exitCode === null ? this.child.pid : undefined;
    if (pid === undefined) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rssKb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
      if (rssKb === undefined) return undefined; // a zombie: killed, not yet reaped
      return { rssBytes: Number(rssKb) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
    } catch {
      return undefined; // it exited between the check and the read
    }
  }
}
