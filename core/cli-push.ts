/**
 * `sluice push …`: HTTP push consumers of a queue (docs/push.md). Declared against the
 * contract like every client command; cli.ts passes in its command kit (no import cycle).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { OperationInput, OperationOutput, UnaryOperationName } from './api/contract.ts';
import type { ClientCommand } from './cli/kit.ts';

/** What cli.ts lends this module. */
export interface CommandKit {
  command<N extends UnaryOperationName>(spec: ClientCommand<N>): ClientCommand<UnaryOperationName>;
  table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Options of `push set`; each maps to one field of the configuration. */
function setOptions(cmd: Command): void {
  cmd
    .requiredOption('--target <url>', 'the endpoint: http:// or https://')
    .option('--method <method>', 'POST or PUT (default POST)')
    .option('--header <name:value>', 'a static header (repeatable)', collect)
    .option('--basic-auth <user:password>', 'Basic authentication (password: prefer --secret-file)')
    .option('--bearer', 'bearer token authentication; the token from --secret-file or --secret')
    .option('--auth-header <name>', 'a custom header carries the secret (from --secret-file or --secret)')
    .option('--secret <text>', 'the token, password or header value (visible to ps: prefer --secret-file)')
    .option('--secret-file <file>', 'read the token, password or header value from a file')
    .option('--ca-file <file>', 'PEM CA bundle for the endpoint certificate')
    .option('--cert-file <file>', 'PEM client certificate (mutual TLS)')
    .option('--key-file <file>', 'PEM client key (mutual TLS)')
    .option('--insecure', 'accept any endpoint certificate (tests only)')
    .option('--timeout-ms <ms>', 'abandon an attempt after this long (default 10000)')
    .option('--concurrency <n>', 'requests at once; 1 keeps order (default 1)')
    .option('--retry-initial-ms <ms>', 'first backoff (default 1000)')
    .option('--retry-max-ms <ms>', 'longest backoff (default 60000)')
    .option('--reject-statuses <list>', '4xx statuses that send the message to the DMQ (default 400,422)')
    .option('--disabled', 'keep it configured but stopped');
}

function pushInput(args: Record<string, unknown>, o: Record<string, unknown>): OperationInput<'push.put'> {
  const text = (key: string) => o[key] as string | undefined;
  const file = (key: string) => (text(key) === undefined ? undefined : readFileSync(text(key)!, 'utf8'));
  const num = (key: string) => (text(key) === undefined ? undefined : Number(text(key)));
  const secret = (file('secretFile') ?? text('secret'))?.trim();
  const headers = Object.fromEntries(
    ((o.header as string[] | undefined) ?? []).map((h) => {
      const at = h.indexOf(':');
      return [h.slice(0, at).trim(), h.slice(at + 1).trim()];
    }),
  );
  const basic = text('basicAuth');
  const auth =
    basic !== undefined
      ? {
          type: 'basic' as const,
          username: basic.split(':')[0]!,
          ...(basic.includes(':') ? { password: basic.slice(basic.indexOf(':') + 1) } : { password: secret }),
        }
      : o.bearer === true
        ? { type: 'bearer' as const, token: secret }
        : text('authHeader') !== undefined
          ? { type: 'header' as const, name: text('authHeader')!, value: secret }
          : { type: 'none' as const };
  const retry = { initialDelayMs: num('retryInitialMs'), maxDelayMs: num('retryMaxMs') };
  const drop = <T extends object>(value: T) =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
  return drop({
    queue: args.queue as string,
    name: args.name as string,
    url: text('target')!,
    method: text('method')?.toUpperCase() as 'POST' | 'PUT' | undefined,
    headers,
    auth: drop(auth) as OperationInput<'push.put'>['auth'],
    tls: drop({
      ca: file('caFile'),
      cert: file('certFile'),
      key: file('keyFile'),
      rejectUnauthorized: o.insecure === true ? false : undefined,
    }),
    timeoutMs: num('timeoutMs'),
    concurrency: num('concurrency'),
    retry: drop(retry),
    rejectStatuses: text('rejectStatuses')
      ?.split(',')
      .map((s) => Number(s.trim())),
    enabled: o.disabled === true ? false : undefined,
  });
}

const ago = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function statusRows(list: OperationOutput<'push.status'>['pushConsumers']) {
  return list.map((s) => [
    s.name,
    s.queue,
    s.state,
    s.backlog,
    s.inFlight,
    s.delivered,
    s.retried,
    s.rejected,
    s.lastStatusCode ?? '-',
    ago(s.sinceLastSuccessMs),
    s.lastError?.message ?? '-',
    s.alarms.join(', ') || '-',
  ]);
}
const statusHeaders = [
  'PUSH',
  'QUEUE',
  'STATE',
  'BACKLOG',
  'IN-FLIGHT',
  'DELIVERED',
  'RETRIED',
  'REJECTED',
  'LAST',
  'SINCE OK',
  'LAST ERROR',
  'ALARMS',
];

/** The `push` group's commands. */
export function pushCommands({ command, table }: CommandKit): ReadonlyArray<ClientCommand<UnaryOperationName>> {
  return [
    command({
      words: ['push', 'list'],
      op: 'push.list',
      args: ['<queue>'],
      human: (o) =>
        table(
          ['PUSH', 'METHOD', 'URL', 'AUTH', 'CONCURRENCY', 'STATE', 'ENABLED'],
          o.pushConsumers.map(({ config: c, status: s }) => [
            c.name,
            c.method,
            c.url,
            c.auth.type,
            c.concurrency,
            s.state,
            String(c.enabled),
          ]),
        ),
    }),
    command({
      words: ['push', 'status'],
      op: 'push.status',
      human: (o) => table(statusHeaders, statusRows(o.pushConsumers)),
    }),
    command({
      words: ['push', 'set'],
      op: 'push.put',
      args: ['<queue>', '<name>'],
      derive: false,
      extra: setOptions,
      input: pushInput,
      human: (o) => `Push consumer ${o.config.name} on ${o.config.queue} → ${o.config.url} (${o.status.state})`,
    }),
    command({
      words: ['push', 'delete'],
      op: 'push.delete',
      args: ['<queue>', '<name>'],
      human: (o) => `Deleted push consumer ${o.name}`,
    }),
  ];
}
