/**
 * The `sluice` command line: `serve` runs a broker; every other command is a typed client call
 * to a running broker over HTTP. Client commands are declared against the contract (STYLE.md
 * §9): each names its operation, its options are derived from the operation's input schema,
 * and a contract change that breaks a command fails to compile. This file is the program: the
 * global options, the one client runner, the command groups put together, `serve` and `tls` (the
 * commands that are not client calls) and the mapping of errors to exit codes. The shared kit
 * (tables, derived options, the one-call command runner) is core/cli/kit.ts; the command groups
 * live in core/cli/ (queues, dmq, replay, sparkplug, journey, security, connections, demo, live),
 * core/cli-push.ts and core/cli-transfer.ts.
 *
 * Exit codes: 0 ok · 1 the broker refused (problem title/detail on stderr) · 2 usage or invalid
 * input/config · 3 cannot reach the broker.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ApiError, BrokerUnreachableError, createHttpClient } from './api/client.ts';
import type { OperationName, UnaryOperationName } from './api/contract.ts';
import { packageVersion } from './resources.ts';
import { addTransferCommands, restoreInto, transferCommands } from './cli-transfer.ts';
import { connectionCommands } from './cli/connections.ts';
import { demoCommands } from './cli/demo.ts';
import { addDmqExport, dmqCommands } from './cli/dmq.ts';
import {
  UsageError,
  addClientCommand,
  command,
  table,
  type ClientCommand,
  type Output,
  type RunClient,
} from './cli/kit.ts';
import { journeyCommands } from './cli/journey.ts';
import { addLiveCommands } from './cli/live.ts';
import { messageCommands, queueCommands } from './cli/queues.ts';
import { replayCommands } from './cli/replay.ts';
import { addAuditExport, securityCommands } from './cli/security.ts';
import { sparkplugCommands } from './cli/sparkplug.ts';
import { loadConfig, type ConfigInput } from './config.ts';
import { SluiceError } from './errors.ts';
import { createSelfSignedCertificate, tlsConfigSnippet } from './security/tls.ts';
import { pushCommands } from './cli-push.ts';

export { table } from './cli/kit.ts';
import { addMcpCommand } from './protocols/mcp/command.ts';

/** The package version (core/resources.ts reads it without loading the broker). */
const version = packageVersion();

/** Process exit codes. */
export const exitCodes = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const defaultUrl = 'http://127.0.0.1:8080';

/** Every client command. */
export const clientCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  ...queueCommands,
  ...dmqCommands,
  ...replayCommands,
  ...sparkplugCommands,
  ...journeyCommands,
  ...messageCommands,
  ...securityCommands,
  ...connectionCommands,
  ...demoCommands,
  command({
    words: ['health'],
    op: 'health',
    human: (h) => `${h.status} (Sluice ${h.version}, up ${Math.round(h.uptimeMs / 1000)} s)`,
  }),
  // `push …`: in its own module (core/cli-push.ts).
  ...pushCommands({ command, table }),
];

/** Commands outside the one-call pattern, with the operation each runs. */
export const specialCommands: ReadonlyArray<{ readonly words: readonly string[]; readonly op: OperationName }> = [
  { words: ['dmq', 'export'], op: 'dmq.export' },
  { words: ['watch'], op: 'events.stream' },
  { words: ['topics', 'stream'], op: 'topics.stream' },
  { words: ['audit', 'export'], op: 'audit.export' },
  ...transferCommands,
];

// ── program ──────────────────────────────────────────────────────────────────────────

/** Builds the program; `setExit` receives the exit code of whatever ran. */
export function buildProgram(io: Output, setExit: (code: number) => void): Command {
  const program = new Command('sluice')
    .description('Sluice: an offline, multi-protocol event broker')
    .version(version)
    .option('--url <url>', 'broker URL for client commands (env SLUICE_URL)', process.env.SLUICE_URL || defaultUrl)
    .option('--json', 'print machine-readable JSON')
    .option('--auth <user:password>', 'Basic credentials (env SLUICE_AUTH)', process.env.SLUICE_AUTH || undefined)
    .option(
      '--token <token>',
      'bearer token from `sluice auth login` (env SLUICE_TOKEN)',
      process.env.SLUICE_TOKEN || undefined,
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  const run: RunClient = async (cmd, work) => {
    const globals = cmd.optsWithGlobals<{ url: string; json?: boolean; auth?: string; token?: string }>();
    const client = createHttpClient(globals.url);
    if (globals.token !== undefined) client.setAuth({ token: globals.token });
    else if (globals.auth !== undefined) {
      const at = globals.auth.indexOf(':');
      if (at <= 0) throw new UsageError('--auth takes user:password');
      client.setAuth({ username: globals.auth.slice(0, at), password: globals.auth.slice(at + 1) });
    }
    const text = await work({ client, args: {}, options: cmd.opts(), json: globals.json === true });
    if (text !== '') io.out(`${text}\n`);
    setExit(exitCodes.ok);
  };

  const groupSummaries: Record<string, string> = {
    queues: 'Manage queues: list, show, create, update, delete, purge, browse',
    dmq: 'Dead messages: list, show, counts, redeliver, purge, export',
    replay: 'Replay the message log into a queue',
    topics: 'Topics: the live tree, publish a raw payload, stream a filter',
    auth: 'Log in (tokens), first-run setup, who am I',
    users: 'Users: list, create, update (password, roles), delete',
    roles: 'Roles and their ACL rules',
    audit: 'The audit log of management actions: list, export',
    connections: 'Client connections on every protocol: list, disconnect',
    demo: 'Demo and training scenarios: list, run, status, stop, reset',
    bridges: 'Store-and-forward bridges to upstream brokers: status',
    push: 'HTTP push consumers of queues: list, status, set, delete',
  };
  const groups = new Map<string, Command>();
  for (const spec of clientCommands) {
    const [first, ...rest] = spec.words;
    let parent = program;
    if (rest.length > 0) {
      if (!groups.has(first!))
        groups.set(first!, program.command(first!).description(groupSummaries[first!] ?? first!));
      parent = groups.get(first!)!;
    }
    addClientCommand(parent, spec, run);
  }

  addDmqExport(groups.get('dmq')!, run, io);
  addAuditExport(groups.get('audit')!, run, io);

  program
    .command('tls')
    .description('TLS material for a lab')
    .command('create-self-signed')
    .description(
      'Write a self-signed cert.pem and key.pem (needs the openssl CLI); point config tls.cert/tls.key at them',
    )
    .option('--out <dir>', 'where to write them', '.')
    .option(
      '--host <name>',
      'DNS name or IP the certificate is for (repeatable)',
      (host: string, previous: string[] = []) => [...previous, host],
    )
    .option('--days <n>', 'validity in days', (text) => Number(text), 825)
    .action(async (options: { out: string; host?: string[]; days: number }) => {
      const hosts = options.host ?? ['localhost', '127.0.0.1'];
      const written = await createSelfSignedCertificate(options.out, hosts, options.days);
      io.out(
        `Wrote ${written.cert} and ${written.key} for ${hosts.join(', ')}\nconfig: ${tlsConfigSnippet(written)}\n`,
      );
      setExit(exitCodes.ok);
    });

  addLiveCommands(program, groups.get('topics')!, run, io);

  addTransferCommands(program, run, io, setExit);
  addMcpCommand(program, io, setExit);

  program
    .command('serve')
    .description('Run the broker')
    .option('--config <file>', 'JSON config file (env SLUICE_CONFIG)')
    .option('--data-dir <dir>', 'where the database lives (env SLUICE_DATA_DIR)')
    .option('--http-port <port>', 'HTTP API port; 0 picks a free one (env SLUICE_HTTP_PORT)')
    .option('--http-host <host>', 'HTTP API address (env SLUICE_HTTP_HOST)')
    .option('--mqtt-port <port>', 'MQTT over TCP port; 0 picks a free one (env SLUICE_MQTT_PORT)')
    .option('--mqtt-ws-port <port>', 'MQTT over WebSocket port; 0 picks a free one (env SLUICE_MQTT_WS_PORT)')
    .option('--amqp-port <port>', 'AMQP 1.0 port; 0 picks a free one (env SLUICE_AMQP_PORT)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env SLUICE_LOG_LEVEL)')
    .option('--anonymous', 'let clients without credentials in (lab use; config security.anonymous)')
    .option('--restore <file>', 'first restore this backup into the (new) data directory, then serve it')
    .action(async (options: Record<string, string | undefined>) => {
      setExit(await serve(options, io));
    });

  return program;
}

/** `sluice serve`: runs until SIGINT/SIGTERM, then closes cleanly. */
async function serve(options: Record<string, string | undefined>, io: Output): Promise<number> {
  const port = options.httpPort;
  // Text that is not a number goes through as is, so the schema names the problem.
  const asPort = (value: string) => (/^\d+$/.test(value) ? Number(value) : value) as number;
  const flags: ConfigInput = {
    ...(options.amqpPort !== undefined && { amqp: { port: asPort(options.amqpPort) } }),
    ...((options.mqttPort !== undefined || options.mqttWsPort !== undefined) && {
      mqtt: {
        ...(options.mqttPort !== undefined && { tcp: { port: asPort(options.mqttPort) } }),
        ...(options.mqttWsPort !== undefined && { ws: { port: asPort(options.mqttWsPort) } }),
      },
    }),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    ...(options.anonymous !== undefined && { security: { anonymous: true } }),
    ...(options.logLevel !== undefined && { logLevel: options.logLevel as ConfigInput['logLevel'] }),
    http: {
      ...(options.httpHost !== undefined && { host: options.httpHost }),
      ...(port !== undefined && { port: asPort(port) }),
    },
  };
  const config = loadConfig({ ...(options.config !== undefined && { file: options.config }), flags });
  if (options.restore !== undefined) await restoreInto(options.restore, config.dataDir, false, io);
  // Loaded here, not at the top: the client commands (and --help, --version) start in half the
  // time without the broker's modules (aedes, rhea, kafkajs…); docs/packaging.md.
  const { createBroker } = await import('./broker.ts');
  const broker = await createBroker(config);
  // Listening before the ready line: a supervisor that stops the broker as soon as it reads that
  // line must get a clean close, not Node's default end by SIGTERM (seen once in a CI run).
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.out(`Sluice ${version} serving ${broker.httpUrl} (data in ${config.dataDir})\n`);
  for (const listener of broker.listeners.slice(1)) io.out(`  ${listener.name}: ${listener.url}\n`);
  if (broker.firstRunAdmin) {
    const { user, password, file } = broker.firstRunAdmin;
    // Printed once, on the first start only (DESIGN.md: a first run creates an admin).
    io.out(
      `First run: created user "${user}" with password ${password}\n  (also in ${file}, mode 0600; change it with sluice users update ${user} --password …)\n`,
    );
  }
  const received = await signal;
  // A second signal while draining means "now".
  const force = () => process.exit(exitCodes.refused);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  io.err(`${received}: closing\n`);
  await broker.close();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  return exitCodes.ok;
}

/** Runs the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function main(argv: readonly string[], io: Output = processOutput): Promise<number> {
  let code: number = exitCodes.ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: Output): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; they already printed.
    return error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  }
  if (error instanceof UsageError) {
    io.err(`error: ${error.message}\n`);
    return exitCodes.usage;
  }
  if (error instanceof BrokerUnreachableError) {
    io.err(`error: ${error.message}\nIs \`sluice serve\` running there? Set --url or SLUICE_URL.\n`);
    return exitCodes.unreachable;
  }
  if (error instanceof ApiError) {
    io.err(`error: ${error.title}: ${error.detail} [${error.code}, HTTP ${error.status}]\n`);
    return exitCodes.refused;
  }
  if (error instanceof SluiceError) {
    // Found before any request: invalid input or config.
    io.err(`error: ${error.message}\n`);
    return error.code.startsWith('invalid-') ? exitCodes.usage : exitCodes.refused;
  }
  io.err(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCodes.refused;
}

const processOutput: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  process.exitCode = await main(process.argv);
