/**
 * Security operations: logging in and tokens, first-run setup, users, roles and their ACL rules,
 * the audit log, and client connections on every protocol.
 */
import { SluiceError } from '../../errors.ts';
import type { BrokerSecurity } from '../../security/policy.ts';
import type { ConnectionRegistry } from '../connections.ts';
import type { AreaHandlers, StreamHandlers } from './context.ts';

/** The handlers of auth, users, roles, audit and connections operations; without a security store users and roles are off. */
export function securityHandlers(security: BrokerSecurity | undefined, connections: ConnectionRegistry) {
  const requireSecurity = (): BrokerSecurity => {
    if (!security)
      throw new SluiceError('invalid-config', 'This broker runs without a security store (users and roles are off)');
    return security;
  };

  const unary: AreaHandlers<'auth' | 'users' | 'roles' | 'audit' | 'connections'> = {
    'auth.status': () => ({
      setupRequired: security?.setupRequired ?? false,
      anonymous: security ? security.options.anonymous : true,
    }),
    'auth.setup': async ({ user, password }) => {
      const sec = requireSecurity();
      if (!sec.setupRequired)
        throw new SluiceError('not-authorized', 'Setup is done: users exist. Log in as an admin to add users.');
      await sec.createUser(user, password, ['admin']);
      return sec.issueToken(user);
    },
    'auth.login': async ({ user, password }, context) => {
      const sec = requireSecurity();
      const principal = await sec.authenticate({
        username: user,
        password,
        protocol: context.principal.protocol,
        ...(context.principal.address !== undefined && { address: context.principal.address }),
      });
      return sec.issueToken(principal.user!);
    },
    'auth.logout': (_input, context) => {
      if (context.token !== undefined) security?.revokeToken(context.token);
      return { loggedOut: context.token !== undefined };
    },
    'auth.whoami': (_input, { principal }) => ({
      user: principal.user,
      protocol: principal.protocol,
      roles: security ? security.rolesOf(principal).map((role) => role.name) : ['admin'],
    }),
    'users.list': () => ({
      users: requireSecurity()
        .listUsers()
        .map((u) => ({ ...u, roles: [...u.roles] })),
    }),
    'users.create': async ({ name, password, roles: given }) => {
      const user = await requireSecurity().createUser(name, password, given);
      return { ...user, roles: [...user.roles] };
    },
    'users.update': async ({ name, password, roles: given }) => {
      const user = await requireSecurity().updateUser(name, {
        ...(password !== undefined && { password }),
        ...(given !== undefined && { roles: given }),
      });
      return { ...user, roles: [...user.roles] };
    },
    'users.delete': ({ name }) => {
      requireSecurity().deleteUser(name);
      return { name, deleted: true as const };
    },
    'roles.list': () => ({ roles: requireSecurity().listRoles().map(wireRole) }),
    'roles.put': ({ name, description, rules }) => wireRole(requireSecurity().putRole(name, description, rules)),
    'roles.delete': ({ name }) => {
      requireSecurity().deleteRole(name);
      return { name, deleted: true as const };
    },
    'audit.list': ({ afterId, limit, ...filter }) => {
      const records = requireSecurity().audit.query({
        ...definedOnly(filter),
        ...(afterId !== undefined && { afterId: Number(afterId) }),
        limit,
      });
      return {
        records: records.map(wireAudit),
        nextAfterId: records.length === limit ? String(records[records.length - 1]!.id) : null,
      };
    },
    'connections.list': ({ protocol }) => ({ connections: connections.list(protocol) }),
    'connections.disconnect': ({ id }) => {
      connections.disconnect(id);
      return { id, disconnected: true as const };
    },
  };
  const streams: Pick<StreamHandlers, 'audit.export'> = {
    'audit.export': function* (filter) {
      for (const row of requireSecurity().audit.all(definedOnly(filter))) yield `${JSON.stringify(wireAudit(row))}\n`;
    },
  };
  return { unary, streams };
}

function wireRole(role: ReturnType<BrokerSecurity['listRoles']>[number]) {
  return { ...role, rules: role.rules.map((rule) => ({ actions: [...rule.actions], patterns: [...rule.patterns] })) };
}

function wireAudit(row: ReturnType<BrokerSecurity['audit']['query']>[number]) {
  return { ...row, id: String(row.id) };
}

/** Drops undefined fields (exactOptionalPropertyTypes). */
function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
