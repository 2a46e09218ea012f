/**
 * The `sluice` command line: `serve` runs a broker; every other command is a typed client call
 * to a running broker over HTTP. Client commands are declared against the contract (STYLE.md
 * §9): each names its operation, its options are derived from the operation's input schema,
 * and a contract change that breaks a command fails to compile. The shared kit (tables, derived
 * options, the one-call command runner) is core/cli/kit.ts; the dmq and replay commands live in
 * core/cli/dmq.ts and core/cli/replay.ts.
 *
 * Exit codes: 0 ok · 1 the broker refused (problem title/detail on stderr) · 2 usage or invalid
 * input/config · 3 cannot reach the broker.
 */
import { readFileSync, createWriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ApiError, BrokerUnreachableError, createHttpClient, type EventSubscription } from './api/client.ts';
import {
  contract,
  type BrokerEvent,
  parseInput,
  type OperationInput,
  type OperationName,
  type OperationOutput,
  type UnaryOperationName,
  type WireMessage,
} from './api/contract.ts';
import { packageVersion } from './resources.ts';
import { addTransferCommands, restoreInto, transferCommands } from './cli-transfer.ts';
import { addDmqExport, dmqCommands } from './cli/dmq.ts';
import {
  UsageError,
  addClientCommand,
  bytes,
  command,
  deriveOptions,
  details,
  inputShape,
  pick,
  preview,
  rate,
  rates,
  table,
  time,
  type ClientCommand,
  type Invocation,
  type Output,
  type RunClient,
} from './cli/kit.ts';
import { journeyCommands } from './cli/journey.ts';
import { replayCommands } from './cli/replay.ts';
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

/** The live state columns shared by `queues list` and `stats`. */
const queueState = (q: OperationOutput<'stats.get'>['queues'][number]) => [
  q.name,
  q.depth,
  q.inFlight,
  q.consumers,
  rate(q.rates.inPerSec),
  rate(q.rates.outPerSec),
  rate(q.rates.deadPerSec),
];
const queueRow = (q: OperationOutput<'queues.get'>) => [...queueState(q), q.config.subscriptions.join(' ')];
const queueHeaders = ['NAME', 'DEPTH', 'IN-FLIGHT', 'CONSUMERS', 'IN/S', 'OUT/S', 'DEAD/S', 'SUBSCRIPTIONS'];

function showQueue(q: OperationOutput<'queues.get'>): string {
  const c = q.config;
  return details([
    ['name', q.name],
    ['depth', `${q.depth} messages, ${bytes(q.bytes)} (max ${c.maxDepthMessages}, ${bytes(c.maxDepthBytes)})`],
    ['in flight', q.inFlight],
    ['consumers', `${q.consumers} (${c.accessType})`],
    ['rates', rates(q.rates)],
    ['subscriptions', c.subscriptions.join(' ') || '-'],
    ['overflow', c.overflow],
    ['max redelivery', c.maxRedelivery],
    ['default TTL', c.defaultTtlMs === null ? 'none' : `${c.defaultTtlMs} ms`],
    ['dead messages to', c.deadMessageQueue],
    [
      'counters',
      Object.entries(q.counters)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · '),
    ],
    ['created', time(q.createdAt)],
  ]);
}

/** A demo run: its steps with their state, then the checks and the outcome. */
function showDemo(d: OperationOutput<'demo.status'>): string {
  if (d.scenario === null) return 'No demo has run since the broker started';
  const mark = { pending: ' ', running: '>', done: '✓', failed: '✗', skipped: '-' } as const;
  return [
    `${d.title} (${d.scenario}) — ${d.state.toUpperCase()} · plant clock ${d.plantClock ?? '-'} · speed ×${d.speed}`,
    ...(d.runAs?.user ? [`actors log in as user ${d.runAs.user}, role ${d.runAs.role} (this scenario only)`] : []),
    ...d.steps.map(
      (step, i) =>
        `${mark[step.state]} ${i + 1}. ${step.narration}` +
        (step.detail !== null ? `\n     ${step.detail}` : '') +
        (step.progress ? ` [${step.progress.done}/${step.progress.total}]` : ''),
    ),
    ...(d.checks.length > 0 ? ['', 'Checks:'] : []),
    ...d.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.label}: expected ${c.expected}; got ${c.actual}`),
    ...(d.error !== null ? [`error: ${d.error}`] : []),
  ].join('\n');
}

/** Polls the demo run until it is no longer running (at most 2 Hz), showing the step on a terminal. */
async function waitForDemo(status: OperationOutput<'demo.status'>, run: Invocation) {
  let current = status;
  while (current.state === 'running') {
    if (process.stderr.isTTY) {
      const index = current.steps.findIndex((step) => step.state === 'running');
      process.stderr.write(`\rstep ${index + 1}/${current.steps.length} · plant clock ${current.plantClock ?? '-'}   `);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await run.client.call('demo.status', {});
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return current;
}

/** Every client command. */
export const clientCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['queues', 'list'],
    op: 'queues.list',
    human: (out) => table(queueHeaders, out.queues.map(queueRow)),
  }),
  command({ words: ['queues', 'show'], op: 'queues.get', args: ['<name>'], human: showQueue }),
  command({
    words: ['queues', 'create'],
    op: 'queues.create',
    args: ['<name>'],
    human: (q) => `Created queue ${q.name}\n${showQueue(q)}`,
  }),
  command({
    words: ['queues', 'update'],
    op: 'queues.update',
    args: ['<name>'],
    human: (q) => `Updated queue ${q.name}\n${showQueue(q)}`,
  }),
  command({
    words: ['queues', 'delete'],
    op: 'queues.delete',
    args: ['<name>'],
    human: (out) => `Deleted queue ${out.name}`,
  }),
  command({
    words: ['queues', 'purge'],
    op: 'queues.purge',
    args: ['<name>'],
    human: (out) => `Purged ${out.purged} ready message(s) from ${out.name}`,
  }),
  command({
    words: ['queues', 'browse'],
    op: 'queues.browse',
    args: ['<name>'],
    human: (out) =>
      table(
        ['ENTRY', 'STATE', 'DELIVERIES', 'TOTAL', 'MESSAGE', 'TOPIC', 'PROTOCOL', 'PUBLISHER', 'PAYLOAD'],
        out.messages.map((e) => [
          e.entryId,
          e.state,
          e.deliveryCount,
          e.totalDeliveryCount,
          e.message.id,
          e.message.topic,
          e.message.protocol ?? '-',
          e.message.publisher ?? '-',
          preview(e.message),
        ]),
      ) + (out.nextAfterEntryId ? `\nmore: --after-entry-id ${out.nextAfterEntryId}` : ''),
  }),
  ...dmqCommands,
  ...replayCommands,
  ...sparkplugCommands,
  ...journeyCommands,
  command({
    words: ['publish'],
    op: 'messages.publish',
    args: ['<topic>', '[payload]'],
    extra: (cmd) => cmd.option('--file <path>', 'read the payload from a file (sent as base64)'),
    input: (args, options) => {
      const derived = pick(options, Object.keys(inputShape('messages.publish')));
      if (options.file === undefined) return { ...derived, ...args } as OperationInput<'messages.publish'>;
      if (args.payload !== undefined) throw new UsageError('give the payload as an argument or --file, not both');
      const payload = readFileSync(options.file as string).toString('base64');
      return { ...derived, ...args, payload, payloadEncoding: 'base64' } as OperationInput<'messages.publish'>;
    },
    human: (out) =>
      `Published message ${out.id} → ${out.queues.length > 0 ? out.queues.join(', ') : '(no queue matched)'}`,
  }),
  command({
    words: ['stats'],
    op: 'stats.get',
    human: (s) =>
      [
        details([
          ['uptime', `${Math.round(s.uptimeMs / 1000)} s`],
          ['rates', rates(s.rates)],
          ['published', `${s.broker.published} (${s.broker.publishRefused} refused)`],
          ['delivered', s.broker.delivered],
          ['commits', `${s.broker.commits} (avg ${s.broker.commitMsAverage.toFixed(2)} ms)`],
          ['database', bytes(s.storage.databaseBytes)],
          [
            'log',
            `${bytes(s.storage.logBytes)} from message ${s.storage.logStartId} (${time(s.storage.logStartTime)})`,
          ],
          ['dead messages', s.dead.total],
        ]),
        '',
        table(queueHeaders.slice(0, -1), s.queues.map(queueState)),
      ].join('\n'),
  }),
  command({
    words: ['queues', 'receive'],
    op: 'queues.receive',
    args: ['<name>'],
    human: (out) =>
      out.messages.length === 0
        ? 'No message ready'
        : table(
            ['DELIVERY', 'DELIVERIES', 'MESSAGE', 'TOPIC', 'VISIBLE UNTIL', 'PAYLOAD'],
            out.messages.map((m) => [
              m.deliveryId,
              m.deliveryCount,
              m.message.id,
              m.message.topic,
              time(m.visibleUntil),
              preview(m.message),
            ]),
          ),
  }),
  ...(['ack', 'reject', 'release'] as const).map((outcome) =>
    command({
      words: ['queues', outcome],
      op: `queues.${outcome}`,
      args: ['<name>', '<deliveryId>'],
      human: (out) => `${out.outcome}: delivery ${out.deliveryId} on ${out.name}`,
    }),
  ),
  command({
    words: ['topics', 'publish'],
    op: 'topics.publish',
    args: ['<topic>', '[payload]'],
    extra: (cmd) => cmd.option('--file <path>', 'read the payload from a file'),
    input: (args, options) => {
      const derived = pick(options, Object.keys(inputShape('topics.publish')));
      if (options.file === undefined) return { ...derived, ...args } as OperationInput<'topics.publish'>;
      if (args.payload !== undefined) throw new UsageError('give the payload as an argument or --file, not both');
      const payload = readFileSync(options.file as string).toString('base64');
      return { ...derived, ...args, payload, payloadEncoding: 'base64' } as OperationInput<'topics.publish'>;
    },
    human: (out) =>
      `Published message ${out.id} → ${out.queues.length > 0 ? out.queues.join(', ') : '(no queue matched)'}`,
  }),
  command({
    words: ['topics', 'tree'],
    op: 'topics.tree',
    human: (out) =>
      table(
        ['TOPIC', 'MESSAGES', 'RATE/S', 'LAST', 'LAST PAYLOAD'],
        out.topics.map((t) => [
          t.topic,
          t.messages,
          rate(t.ratePerSec),
          time(t.lastTimestamp),
          preview({ ...t.lastMessage } as unknown as WireMessage),
        ]),
      ) +
      (out.matched > out.topics.length ? `\n${out.matched - out.topics.length} more: raise --limit` : '') +
      (out.untrackedMessages > 0
        ? `\n${out.untrackedMessages} message(s) on topics beyond the ${out.maxTracked}-topic tracking cap`
        : ''),
  }),
  command({
    words: ['auth', 'status'],
    op: 'auth.status',
    human: (o) =>
      details([
        ['setup required', String(o.setupRequired)],
        ['anonymous', String(o.anonymous)],
      ]),
  }),
  command({
    words: ['auth', 'setup'],
    op: 'auth.setup',
    human: (o) => `Created admin ${o.user}; token (until ${time(o.expiresAt)}):\n${o.token}`,
  }),
  command({
    words: ['auth', 'login'],
    op: 'auth.login',
    args: ['<user>'],
    human: (o) => `${o.token}\n(valid until ${time(o.expiresAt)}; use --token or SLUICE_TOKEN)`,
  }),
  command({
    words: ['auth', 'logout'],
    op: 'auth.logout',
    human: (o) => (o.loggedOut ? 'Token revoked' : 'No token given'),
  }),
  command({
    words: ['auth', 'whoami'],
    op: 'auth.whoami',
    human: (o) => `${o.user ?? '(anonymous)'} via ${o.protocol}, roles: ${o.roles.join(', ') || '-'}`,
  }),
  command({
    words: ['users', 'list'],
    op: 'users.list',
    human: (o) =>
      table(
        ['USER', 'ROLES', 'CREATED'],
        o.users.map((u) => [u.name, u.roles.join(' '), time(u.createdAt)]),
      ),
  }),
  command({
    words: ['users', 'create'],
    op: 'users.create',
    args: ['<name>'],
    human: (u) => `Created user ${u.name} (${u.roles.join(', ') || 'no roles'})`,
  }),
  command({
    words: ['users', 'update'],
    op: 'users.update',
    args: ['<name>'],
    human: (u) => `Updated user ${u.name} (${u.roles.join(', ') || 'no roles'})`,
  }),
  command({ words: ['users', 'delete'], op: 'users.delete', args: ['<name>'], human: (o) => `Deleted user ${o.name}` }),
  command({
    words: ['roles', 'list'],
    op: 'roles.list',
    human: (o) =>
      table(
        ['ROLE', 'RULES', 'DESCRIPTION'],
        o.roles.map((r) => [
          r.name,
          r.rules.map((rule) => `${rule.actions.join(',')} on ${rule.patterns.join(' ')}`).join('; '),
          r.description,
        ]),
      ),
  }),
  command({
    words: ['roles', 'put'],
    op: 'roles.put',
    args: ['<name>'],
    derive: false,
    extra: (cmd) =>
      cmd
        .option('--description <text>', 'what the role is for')
        .requiredOption(
          '--rule <actions:patterns>',
          'e.g. publish,subscribe:plant/# (repeatable)',
          (rule: string, previous: string[] = []) => [...previous, rule],
        ),
    input: (args, options) => ({
      name: args.name as string,
      ...(options.description !== undefined && { description: options.description as string }),
      rules: (options.rule as string[]).map((rule) => {
        const at = rule.indexOf(':');
        if (at <= 0) throw new UsageError(`--rule takes actions:patterns, got "${rule}"`);
        return { actions: rule.slice(0, at).split(',') as never, patterns: rule.slice(at + 1).split(',') };
      }),
    }),
    human: (r) => `Saved role ${r.name}`,
  }),
  command({ words: ['roles', 'delete'], op: 'roles.delete', args: ['<name>'], human: (o) => `Deleted role ${o.name}` }),
  command({
    words: ['audit', 'list'],
    op: 'audit.list',
    human: (o) =>
      table(
        ['ID', 'AT', 'USER', 'VIA', 'OPERATION', 'RESOURCE', 'RESULT', 'DETAIL'],
        o.records.map((r) => [
          r.id,
          time(r.at),
          r.user ?? '(anonymous)',
          r.protocol,
          r.operation,
          r.resource,
          r.result,
          r.detail ?? '',
        ]),
      ) + (o.nextAfterId ? `\nmore: --after-id ${o.nextAfterId}` : ''),
  }),
  command({
    words: ['connections', 'list'],
    op: 'connections.list',
    human: (o) =>
      table(
        ['ID', 'PROTOCOL', 'CLIENT', 'USER', 'ADDRESS', 'SINCE', 'IN', 'OUT'],
        o.connections.map((c) => [
          c.id,
          c.protocol,
          c.clientId ?? '-',
          c.user ?? '(anonymous)',
          c.address ?? '-',
          time(c.connectedAt),
          c.counters.messagesIn,
          c.counters.messagesOut,
        ]),
      ),
  }),
  command({
    words: ['connections', 'disconnect'],
    op: 'connections.disconnect',
    args: ['<id>'],
    human: (o) => `Disconnected ${o.id}`,
  }),
  command({
    words: ['bridges', 'status'],
    op: 'bridges.status',
    human: (o) =>
      table(
        ['BRIDGE', 'UPSTREAM', 'DIRECTION', 'STATE', 'BACKLOG', 'FORWARDED', 'RECEIVED', 'LAST ERROR', 'ALARMS'],
        o.bridges.map((b) => [
          b.name,
          b.upstream,
          b.direction,
          b.state,
          b.backlog,
          b.forwarded,
          b.received,
          b.lastError?.message ?? '-',
          b.alarms.join(', ') || '-',
        ]),
      ),
  }),
  command({
    words: ['demo', 'list'],
    op: 'demo.list',
    human: (out) =>
      out.scenarios
        .map((d) =>
          [
            `${d.name} — ${d.title}`,
            `  ${d.summary}`,
            `  systems: ${d.actors.map((a) => `${a.label} (${a.protocol})`).join(', ')}`,
            ...d.steps.map((step, i) => `  ${i + 1}. ${step.narration}`),
          ].join('\n'),
        )
        .join('\n\n'),
  }),
  command({
    words: ['demo', 'run'],
    op: 'demo.start',
    args: ['<name>'],
    extra: (cmd) => cmd.option('--wait', 'follow the run until it ends, then show its checks'),
    human: showDemo,
    follow: (out, run) => (run.options.wait === true ? waitForDemo(out, run) : Promise.resolve(out)),
  }),
  command({ words: ['demo', 'status'], op: 'demo.status', human: showDemo }),
  command({ words: ['demo', 'stop'], op: 'demo.stop', human: showDemo }),
  command({
    words: ['demo', 'reset'],
    op: 'demo.reset',
    args: ['<name>'],
    human: (out) =>
      `Reset ${out.name}: deleted ${out.deletedQueues.length} queue(s)${out.deletedQueues.length > 0 ? ` (${out.deletedQueues.join(', ')})` : ''}, purged ${out.purgedDead} dead message(s)`,
  }),
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

  const auditExport = groups
    .get('audit')!
    .command('export')
    .description(contract['audit.export'].summary)
    .option('--output <file>', 'write to a file instead of stdout');
  const auditFields = deriveOptions(auditExport, inputShape('audit.export'));
  auditExport.action(async (_options: unknown, self: Command) => {
    await run(self, async ({ client, options }) => {
      const input = pick(options, auditFields);
      parseInput('audit.export', input);
      const file =
        options.output === undefined ? undefined : createWriteStream(options.output as string, { mode: 0o600 });
      for await (const line of client.stream('audit.export', input)) {
        const text = `${JSON.stringify(line)}\n`;
        if (file) file.write(text);
        else io.out(text);
      }
      if (file) await new Promise((resolve) => file.end(resolve));
      return '';
    });
  });

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

  program
    .command('watch')
    .description(`${contract['events.stream'].summary}; runs until Ctrl-C`)
    .argument('[topics...]', 'topic filters to watch (default: none, with --stats only stats)')
    .option('--stats', 'also print broker stats once a second')
    .option('--preview-bytes <n>', 'payload bytes shown per message (≤ 4096)', (text) => Number(text))
    .option('--count <n>', 'stop after this many message events', (text) => Number(text))
    .action(async (topics: string[], _options: unknown, self: Command) => {
      await run(self, async ({ client, options, json }) => {
        const input = {
          ...(topics.length > 0 && { topics }),
          ...(options.stats === true && { stats: true }),
          ...(options.previewBytes !== undefined && { previewBytes: options.previewBytes as number }),
        };
        parseInput('events.stream', input);
        const print = printer(options, json);
        return follow(print.attach(client.subscribe('events.stream', input, print)));
      });
    });

  groups
    .get('topics')!
    .command('stream')
    .description(contract['topics.stream'].summary)
    .argument('<filter>', 'topic filter')
    .option('--preview-bytes <n>', 'payload bytes shown per message (≤ 4096)', (text) => Number(text))
    .option('--count <n>', 'stop after this many message events', (text) => Number(text))
    .action(async (filter: string, _options: unknown, self: Command) => {
      await run(self, async ({ client, options, json }) => {
        const input = {
          filter,
          ...(options.previewBytes !== undefined && { previewBytes: options.previewBytes as number }),
        };
        parseInput('topics.stream', input);
        const print = printer(options, json);
        return follow(print.attach(client.subscribe('topics.stream', input, print)));
      });
    });

  /** Prints live events; closes the subscription after --count message events. */
  function printer(options: Record<string, unknown>, json: boolean) {
    const limit = options.count as number | undefined;
    let seen = 0;
    let subscription: EventSubscription | undefined;
    const print = (event: BrokerEvent) => {
      if (json) io.out(`${JSON.stringify(event)}\n`);
      else if (event.type === 'message')
        io.out(`${time(event.timestamp)}  ${event.topic}  ${preview(event as unknown as WireMessage, 60)}\n`);
      else if (event.type === 'stats') io.out(`stats  ${rates(event.stats.rates)}\n`);
      else if (event.type === 'topics') io.out(`topics  ${event.topics.length} changed\n`);
      else io.err(`(${event.dropped} event(s) dropped: reading too slowly)\n`);
      if (event.type === 'message' && limit !== undefined && ++seen >= limit) subscription?.close();
    };
    return Object.assign(print, { attach: (s: EventSubscription) => (subscription = s) });
  }

  /** Runs a subscription until it ends or Ctrl-C. */
  async function follow(subscription: EventSubscription): Promise<string> {
    const stop = () => subscription.close();
    process.once('SIGINT', stop);
    try {
      await subscription.ready;
      await subscription.closed;
    } finally {
      process.off('SIGINT', stop);
    }
    return '';
  }

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
  io.out(`Sluice ${version} serving ${broker.httpUrl} (data in ${config.dataDir})\n`);
  for (const listener of broker.listeners.slice(1)) io.out(`  ${listener.name}: ${listener.url}\n`);
  if (broker.firstRunAdmin) {
    const { user, password, file } = broker.firstRunAdmin;
    // Printed once, on the first start only (DESIGN.md: a first run creates an admin).
    io.out(
      `First run: created user "${user}" with password ${password}\n  (also in ${file}, mode 0600; change it with sluice users update ${user} --password …)\n`,
    );
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second signal while draining means "now".
  const force = () => process.exit(exitCodes.refused);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  io.err(`${signal}: closing\n`);
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
