/**
 * Configuration export and import (docs/handover.md): the broker's declared state as one
 * versioned document (core/schema/config-document.ts), and the plan that applies one — a diff
 * first, then every change or none.
 *
 * Import order: roles → queues → users (users name roles) → push consumers (they name queues).
 * Everything is checked before the
 * first write; if a write still fails, the changes already made are undone in reverse, so the
 * broker ends as it started (queues live in the engine's store, users and roles in the security
 * store: one logical transaction over both).
 */
import { SluiceError, toSluiceError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';
import type { BrokerSecurity } from '../security/policy.ts';
import {
  configDocumentFormat,
  configDocumentVersion,
  parseConfigDocument,
  type ConfigDocument,
  type QueueDeclaration,
} from '../schema/config-document.ts';
import { toRabbitDefinitions, type RabbitConversion } from '../schema/rabbitmq-definitions.ts';
import { BackupJobs } from './backups.ts';
import type { ConfigImportResult } from './contract.ts';
import type { PushRegistry } from '../schema/push-config.ts';
import { hasRedactedSecret, redactPushConfig, secretsMayFollow } from '../schema/push-config.ts';

/** What the config file declares beyond the stores: the host hands it in (the api layer cannot read config). */
export interface DeclaredSettings {
  /** The http, mqtt, amqp and tls sections as running. */
  readonly listeners: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** The bridges as running. */
  readonly bridges: readonly unknown[];
}

/**
 * Engine queues a protocol or bridge owns and re-creates itself (sessions, shared and durable
 * subscriptions, bridge outboxes): run-time state, not configuration.
 */
const protocolQueuePrefixes = ['mqtt/', 'mqtt-share/', 'amqp-sub/', 'bridge/'] as const;

/** Field names whose values are secrets: left out of an export unless asked for. */
const secretFields = new Set(['password', 'passphrase', 'secret', 'token']);

type Change = ConfigImportResult['changes'][number];

/** True for queues the export covers (declared ones, not protocol-owned). */
export function isDeclaredQueue(name: string): boolean {
  return !protocolQueuePrefixes.some((prefix) => name.startsWith(prefix));
}

/**
 * A copy of `value` without secrets: fields named like a password, and the private `key` of a
 * TLS section. `removed` collects where they were (for the export's warnings).
 */
export function withoutSecrets<T>(value: T, removed: string[] = [], path = ''): T {
  if (Array.isArray(value)) return value.map((item, index) => withoutSecrets(item, removed, `${path}[${index}]`)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const inTls = /(^|\.)tls$/.test(path);
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (secretFields.has(key) || (inTls && key === 'key' && field !== undefined)) {
      removed.push(at);
      continue;
    }
    copy[key] = withoutSecrets(field, removed, at);
  }
  return copy as T;
}

/** The broker's declared state as a configuration document. */
export function exportConfig(
  engine: Engine,
  security: BrokerSecurity | undefined,
  declared: DeclaredSettings,
  options: { readonly includeSecrets: boolean; readonly version?: string },
  push?: PushRegistry,
): ConfigDocument {
  const queues = engine
    .listQueues()
    .filter((queue) => isDeclaredQueue(queue.name))
    .map((queue) => ({ name: queue.name, ...queue.config, subscriptions: [...queue.config.subscriptions] }));
  const roles = (security?.listRoles() ?? [])
    .filter((role) => !role.builtIn)
    .map((role) => ({
      name: role.name,
      description: role.description,
      rules: role.rules.map((rule) => ({ actions: [...rule.actions], patterns: [...rule.patterns] })),
    }));
  const users = (security?.exportUsers() ?? []).map(({ name, roles: given, passwordHash }) => ({
    name,
    roles: given,
    ...(options.includeSecrets && { passwordHash }),
  }));
  const bridges = declared.bridges as ConfigDocument['bridges'];
  const listeners = declared.listeners as ConfigDocument['listeners'];
  return {
    format: configDocumentFormat,
    version: configDocumentVersion,
    exportedAt: new Date().toISOString(),
    ...(options.version !== undefined && { sluiceVersion: options.version }),
    includesSecrets: options.includeSecrets,
    queues,
    roles,
    users,
    bridges: options.includeSecrets ? bridges : withoutSecrets(bridges),
    listeners: options.includeSecrets ? listeners : withoutSecrets(listeners),
    pushConsumers: (push?.configs() ?? [])
      .map((config) => (options.includeSecrets ? config : redactPushConfig(config)))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

/** Fields whose values differ (by their JSON). */
function differing(current: Record<string, unknown>, wanted: Record<string, unknown>, keys: readonly string[]) {
  return keys.filter((key) => JSON.stringify(current[key]) !== JSON.stringify(wanted[key]));
}

/** One applied step and how to take it back. */
interface Step {
  readonly apply: () => Promise<unknown> | unknown;
  readonly undo: () => Promise<unknown> | unknown;
}

/** Works out what a document changes, and the steps that would apply it. */
function plan(
  engine: Engine,
  security: BrokerSecurity | undefined,
  declared: DeclaredSettings,
  document: ConfigDocument,
  push: PushRegistry | undefined,
): { changes: Change[]; warnings: string[]; steps: Step[] } {
  const changes: Change[] = [];
  const warnings: string[] = [];
  const steps: Step[] = [];

  // Roles.
  const roles = new Map((security?.listRoles() ?? []).map((role) => [role.name, role]));
  if (!security && (document.roles.length > 0 || document.users.length > 0))
    throw new SluiceError('invalid-config', 'This broker runs without a security store: it cannot take roles or users');
  for (const role of document.roles) {
    const current = roles.get(role.name);
    if (current?.builtIn)
      throw new SluiceError(
        'invalid-config-document',
        `roles: "${role.name}" is a built-in role and cannot be defined`,
      );
    if (!current) {
      changes.push({ kind: 'role', name: role.name, action: 'create', fields: [] });
      steps.push({
        apply: () => security!.putRole(role.name, role.description, role.rules),
        undo: () => security!.deleteRole(role.name),
      });
      continue;
    }
    const fields = differing(current as never, role as never, ['description', 'rules']);
    changes.push({ kind: 'role', name: role.name, action: fields.length > 0 ? 'update' : 'unchanged', fields });
    if (fields.length > 0)
      steps.push({
        apply: () => security!.putRole(role.name, role.description, role.rules),
        undo: () => security!.putRole(current.name, current.description, current.rules),
      });
  }

  // Queues: created or updated to match; queues not in the document are left alone.
  const queues = new Map(engine.listQueues().map((queue) => [queue.name, queue.config]));
  for (const { name, ...config } of document.queues as QueueDeclaration[]) {
    if (!isDeclaredQueue(name))
      throw new SluiceError(
        'invalid-config-document',
        `queues: "${name}" is a protocol-owned queue name (${protocolQueuePrefixes.join(', ')}); it cannot be declared`,
      );
    const current = queues.get(name);
    if (!current) {
      changes.push({ kind: 'queue', name, action: 'create', fields: [] });
      steps.push({
        apply: () => engine.createQueue(name, config),
        undo: () => engine.deleteQueue(name, { force: true }),
      });
      continue;
    }
    const fields = differing(current as never, config as never, Object.keys(config));
    changes.push({ kind: 'queue', name, action: fields.length > 0 ? 'update' : 'unchanged', fields });
    if (fields.length > 0)
      steps.push({ apply: () => engine.updateQueue(name, config), undo: () => engine.updateQueue(name, current) });
  }

  // Users: every role they name must exist after the roles above.
  const knownRoles = new Set([...roles.keys(), ...document.roles.map((role) => role.name)]);
  const users = new Map((security?.exportUsers() ?? []).map((user) => [user.name, user]));
  for (const user of document.users) {
    const missing = user.roles.filter((role) => !knownRoles.has(role));
    if (missing.length > 0)
      throw new SluiceError(
        'role-not-found',
        `users: "${user.name}" has role(s) ${missing.join(', ')} that neither this broker nor the document defines`,
      );
    const current = users.get(user.name);
    if (!current) {
      if (user.passwordHash === undefined) {
        const detail = 'new here and the document has no password hash (export with --include-secrets)';
        changes.push({ kind: 'user', name: user.name, action: 'skip', fields: [], detail });
        warnings.push(`user "${user.name}" not created: ${detail}; create it with sluice users create`);
        continue;
      }
      changes.push({ kind: 'user', name: user.name, action: 'create', fields: [] });
      steps.push({
        apply: () => security!.importUser(user.name, user.roles, user.passwordHash),
        undo: () => security!.removeImportedUser(user.name),
      });
      continue;
    }
    const fields = [
      ...differing(current, user, ['roles']),
      ...(user.passwordHash !== undefined && user.passwordHash !== current.passwordHash ? ['passwordHash'] : []),
    ];
    changes.push({ kind: 'user', name: user.name, action: fields.length > 0 ? 'update' : 'unchanged', fields });
    if (fields.length > 0)
      steps.push({
        apply: () => security!.importUser(user.name, user.roles, user.passwordHash),
        undo: () => security!.importUser(current.name, current.roles, current.passwordHash),
      });
  }

  // Push consumers: created or updated through the same path as push.put. A secret exported as
  // the placeholder keeps the one stored here; a new push consumer without its secrets is skipped.
  if (!push && document.pushConsumers.length > 0)
    throw new SluiceError('invalid-config', 'This broker runs without push consumers: it cannot take them');
  const queueNames = new Set([...queues.keys(), ...document.queues.map((queue) => queue.name)]);
  const pushed = new Map((push?.configs() ?? []).map((config) => [config.name, config]));
  for (const wanted of document.pushConsumers) {
    if (!queueNames.has(wanted.queue))
      throw new SluiceError(
        'queue-not-found',
        `pushConsumers: "${wanted.name}" consumes queue "${wanted.queue}", which neither this broker nor the document has`,
      );
    const current = pushed.get(wanted.name);
    const sameOrigin = current !== undefined && secretsMayFollow(current.url, wanted.url);
    if (hasRedactedSecret(wanted) && !sameOrigin) {
      const detail = current
        ? 'its endpoint moves to another origin and the document has no secrets (export with --include-secrets)'
        : 'new here and the document has no secrets (export with --include-secrets)';
      changes.push({ kind: 'push', name: wanted.name, action: 'skip', fields: [], detail });
      warnings.push(`push consumer "${wanted.name}" not applied: ${detail}; set it with sluice push put`);
      continue;
    }
    if (!current) {
      changes.push({ kind: 'push', name: wanted.name, action: 'create', fields: [] });
      steps.push({
        apply: () => push!.put(wanted, { user: null }),
        undo: () => push!.delete(wanted.name),
      });
      continue;
    }
    const shown = redactPushConfig(current) as unknown as Record<string, unknown>;
    const fields = differing(shown, redactPushConfig(wanted) as unknown as Record<string, unknown>, [
      ...new Set([...Object.keys(shown), ...Object.keys(wanted)]),
    ]);
    const secretsChange = !hasRedactedSecret(wanted) && JSON.stringify(current) !== JSON.stringify(wanted);
    if (secretsChange && fields.length === 0) fields.push('secrets');
    changes.push({ kind: 'push', name: wanted.name, action: fields.length > 0 ? 'update' : 'unchanged', fields });
    if (fields.length > 0)
      steps.push({ apply: () => push!.put(wanted, { user: null }), undo: () => push!.put(current, { user: null }) });
  }

  // Bridges and listeners come from the config file: compared and reported, never changed live.
  const running = new Map(
    (declared.bridges as Array<{ name: string }>).map((bridge) => [bridge.name, withoutSecrets(bridge)]),
  );
  for (const bridge of document.bridges) {
    const current = running.get(bridge.name);
    const same = current !== undefined && JSON.stringify(current) === JSON.stringify(withoutSecrets(bridge));
    changes.push({
      kind: 'bridge',
      name: bridge.name,
      action: same ? 'unchanged' : 'manual',
      fields: [],
      ...(!same && { detail: 'bridges are set in the config file: sluice config import --write-config FILE' }),
    });
  }
  for (const [section, wanted] of Object.entries(document.listeners)) {
    if (wanted === undefined) continue;
    const current = withoutSecrets(declared.listeners[section] ?? {});
    const fields = differing(current, withoutSecrets(wanted), [
      ...new Set([...Object.keys(current), ...Object.keys(withoutSecrets(wanted))]),
    ]);
    changes.push({
      kind: 'listener',
      name: section,
      action: fields.length > 0 ? 'manual' : 'unchanged',
      fields,
      ...(fields.length > 0 && {
        detail: 'listeners are set in the config file and take effect on restart: --write-config FILE',
      }),
    });
  }
  if (!document.includesSecrets && document.bridges.some((bridge) => bridge.credentials !== undefined))
    warnings.push('bridge credentials were not exported: add their passwords to the config file by hand');
  return { changes, warnings, steps };
}

/**
 * Applies a configuration document, or with `dryRun` only answers what would change. A document
 * this build does not understand is refused before anything is looked at; a failure while
 * applying undoes what was applied.
 */
export async function importConfig(
  engine: Engine,
  security: BrokerSecurity | undefined,
  declared: DeclaredSettings,
  raw: unknown,
  dryRun: boolean,
  push?: PushRegistry,
): Promise<ConfigImportResult> {
  const document = parseConfigDocument(raw);
  const { changes, warnings, steps } = plan(engine, security, declared, document, push);
  if (dryRun || steps.length === 0) return { dryRun, applied: !dryRun, changes, warnings };
  const done: Step[] = [];
  try {
    for (const step of steps) {
      await step.apply();
      done.push(step);
    }
  } catch (error) {
    for (const step of [...done].reverse()) {
      try {
        await step.undo();
      } catch (undoError) {
        engine.logger.error({ err: undoError }, 'config import: undoing a step failed');
      }
    }
    const failure = toSluiceError(error);
    throw new SluiceError(
      failure.code,
      `Import failed and was undone (${done.length} of ${steps.length} step(s) rolled back): ${failure.detail}`,
    );
  }
  return { dryRun, applied: true, changes, warnings };
}

/**
 * Export, import, the RabbitMQ format and backups of one broker, as the service's handlers call
 * them. Imports run one at a time: two at once would plan against each other's half-applied state.
 */
export class ConfigTransfer {
  readonly backups: BackupJobs;
  private importing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly security: BrokerSecurity | undefined,
    private readonly declared: () => DeclaredSettings,
    private readonly version?: string,
    private readonly push: () => PushRegistry | undefined = () => undefined,
  ) {
    this.backups = new BackupJobs(engine);
  }

  export(includeSecrets: boolean): ConfigDocument {
    return exportConfig(
      this.engine,
      this.security,
      this.declared(),
      { includeSecrets, ...(this.version !== undefined && { version: this.version }) },
      this.push(),
    );
  }

  import(document: unknown, dryRun: boolean): Promise<ConfigImportResult> {
    const work = () => importConfig(this.engine, this.security, this.declared(), document, dryRun, this.push());
    const result = this.importing.then(work, work);
    this.importing = result.catch(() => undefined);
    return result;
  }

  /** The topology as RabbitMQ definitions (never with secrets: RabbitMQ cannot use Sluice's hashes). */
  rabbitmq(vhost: string): RabbitConversion {
    const roles = (this.security?.listRoles() ?? []).filter((role) => role.builtIn);
    return toRabbitDefinitions(this.export(false), { vhost, roles });
  }
}
