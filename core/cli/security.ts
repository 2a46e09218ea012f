/**
 * `sluice auth …`, `users …`, `roles …` and `audit list|export`: logging in, the user store,
 * roles with their ACL rules, and the audit log of management actions.
 */
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { contract, parseInput, type UnaryOperationName } from '../api/contract.ts';
import {
  UsageError,
  command,
  deriveOptions,
  details,
  inputShape,
  pick,
  table,
  time,
  type ClientCommand,
  type Output,
  type RunClient,
} from './kit.ts';

/** `auth status|setup|login|logout|whoami`, `users …`, `roles …` and `audit list`. */
export const securityCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
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
];

/** `audit export`: the audit log as NDJSON, to stdout or a file (mode 0600). */
export function addAuditExport(group: Command, run: RunClient, io: Output): void {
  const auditExport = group
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
}
