import { SluiceError } from '../errors.ts';

// DESIGN.md: Security. Every adapter asks the same authorize(); the broker installs its policy
// (core/security/policy.ts: users, roles, ACL, brute-force slowdown) through createBroker.
// allowAllPolicy remains for listeners started on their own (tests, benchmarks).

/** Who is acting: an authenticated user, or anonymous (user null). */
export interface Principal {
  /** User name; null for anonymous. */
  readonly user: string | null;
  /** The door it came through: mqtt, amqp, http… */
  readonly protocol: string;
  /** Client id or connection label, for logs and audit. */
  readonly clientId?: string;
  /** Remote address, for audit and brute-force bookkeeping. */
  readonly address?: string;
}

/** DESIGN.md permissions, in order. */
export const actions = ['publish', 'subscribe', 'consume', 'browse', 'replay', 'manage'] as const;
/** One DESIGN.md permission. */
export type Action = (typeof actions)[number];

/** What a principal presents when connecting. */
export interface Credentials {
  readonly username?: string;
  readonly password?: Buffer | string;
  readonly protocol: string;
  readonly clientId?: string;
  /** Remote address (brute-force slowdown is per user and per address). */
  readonly address?: string;
  /** A bearer token from a login instead of a user name and password (HTTP). */
  readonly token?: string;
}

/** A security policy: checks credentials and decides each action on a topic filter or queue name. */
export interface SecurityPolicy {
  /** Returns the principal, or throws SluiceError('not-authenticated'). */
  authenticate(credentials: Credentials): Promise<Principal>;
  /** True when `principal` may perform `action` on `resource` (a topic, filter or queue name). */
  allows(principal: Principal, action: Action, resource: string): boolean;
  /**
   * Owners of stateful resources (DESIGN.md: state has an owner). Absent: nothing is owned
   * (the allow-all policy of listeners started on their own).
   */
  readonly owners?: OwnerRegistry;
  /** Writes a refused or notable security event to the audit log (absent: not recorded). */
  recordEvent?(principal: Principal, operation: string, resource: string, detail: string): void;
  /**
   * Calls `listener` after rights changed: a user's roles, password or existence (its name), or a
   * role (null: any user may be affected). Returns the function that stops listening.
   */
  onRightsChanged?(listener: (change: RightsChange) => void): () => void;
}

/** What changed about rights (see SecurityPolicy.onRightsChanged). */
export interface RightsChange {
  /** The user concerned; null when a role changed (every holder is concerned). */
  readonly user: string | null;
  /** `roles`: re-check what the user holds; `credentials` (password changed, user deleted): its connections end. */
  readonly kind: 'roles' | 'credentials';
}

/**
 * Who owns a persistent MQTT session, an AMQP durable subscription or a `$share` queue, keyed by
 * the engine queue name behind it. Owners are user names; anonymous is its own owner (null).
 */
export interface OwnerRegistry {
  /** The owner of `resource`: a user name, null for anonymous, undefined when nobody owns it. */
  ownerOf(resource: string): string | null | undefined;
  /** Records `principal` as the owner (replacing nobody: call `assertOwner` first). */
  claim(resource: string, principal: Principal): void;
  /** Forgets the owner (the resource is gone). */
  release(resource: string): void;
  /** How many resources starting with `prefix` the user owns (only those `exists` says are still there). */
  countOwned(user: string | null, prefix: string, exists: (resource: string) => boolean): number;
  /** Durable `$share` queues one user may create. */
  readonly maxSharedQueuesPerUser: number;
}

/** Throws SluiceError('not-authorized') when `resource` belongs to a user other than `principal`'s. */
export function assertOwner(principal: Principal, resource: string, policy: SecurityPolicy = allowAllPolicy): void {
  const owner = policy.owners?.ownerOf(resource);
  if (owner === undefined || owner === principal.user) return;
  throw new SluiceError('not-authorized', `"${resource}" belongs to another user`, { resource });
}

/** The default until users and roles exist: everyone is anonymous and may do everything. */
export const allowAllPolicy: SecurityPolicy = {
  async authenticate(credentials) {
    return {
      user: credentials.username ?? null,
      protocol: credentials.protocol,
      ...(credentials.clientId !== undefined && { clientId: credentials.clientId }),
    };
  },
  allows: () => true,
};

/** Throws SluiceError('not-authorized') unless `policy` allows the action. */
export function authorize(
  principal: Principal,
  action: Action,
  resource: string,
  policy: SecurityPolicy = allowAllPolicy,
): void {
  if (!policy.allows(principal, action, resource))
    throw new SluiceError('not-authorized', `${principal.user ?? 'anonymous'} may not ${action} "${resource}"`, {
      action,
      resource,
    });
}

/** Authenticates through `policy` (default: allow all as anonymous). */
export function authenticate(credentials: Credentials, policy: SecurityPolicy = allowAllPolicy): Promise<Principal> {
  return policy.authenticate(credentials);
}
