/**
 * The broker's security policy: one user store, one role/ACL model, used by every door through
 * `authorize(principal, action, resource, policy)` (DESIGN.md: Security; docs/security.md).
 *
 * authenticate = throttle → verify (token, or user name + scrypt password) → principal;
 * allows = the principal's roles (anonymous: `anonymousRoles`) → ACL rules → yes/no.
 * Users and roles are cached in memory and written through to SQLite, so `allows` is a few map
 * look-ups on every publish.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SluiceError } from '../errors.ts';
import type { SecurityStore, UserRow } from '../store/security-store.ts';
import { builtInRoles, invalidRule, rolesAllow, type AclRule, type Role } from './acl.ts';
import { AuditLog } from './audit.ts';
import type { Action, Credentials, Principal, RightsChange, SecurityPolicy } from './authorize.ts';
import { hashPassword, randomPassword, unusableHash, verifyPassword } from './passwords.ts';
import { Owners } from './owners.ts';
import { LoginThrottle, type ThrottleOptions } from './throttle.ts';

/** Security settings (config `security`). */
export interface SecurityOptions {
  /** Unauthenticated clients are let in as anonymous with `anonymousRoles`. */
  readonly anonymous: boolean;
  readonly anonymousRoles: readonly string[];
  readonly tokenTtlMs: number;
  readonly bruteForce: ThrottleOptions;
  readonly auditMaxRecords: number;
  /** Durable `$share` queues one user may create. */
  readonly maxSharedQueuesPerUser?: number;
}

/** A user as the API shows it (never the hash). */
export interface UserInfo {
  readonly name: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A login's answer. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: number;
  readonly user: string;
}

const userNamePattern = /^[A-Za-z0-9._@-]{1,64}$/;
const roleNamePattern = /^[A-Za-z0-9._-]{1,64}$/;
const tokenPrefix = 'slc_';
/** Bounds the ACL decision cache (many distinct topics, say a topic per device, just refill it). */
const maxCachedDecisions = 10_000;

/**
 * ACL decisions by user ('' for anonymous), action and resource, in nested maps: the resource is
 * the topic string a publish already carries, so a look-up hashes no string built for it (a
 * joined key showed in the broker's profile). At most `maxCachedDecisions`; then it starts over.
 */
class DecisionCache {
  private readonly byUser = new Map<string, Map<Action, Map<string, boolean>>>();
  private size = 0;

  get(user: string, action: Action, resource: string): boolean | undefined {
    return this.byUser.get(user)?.get(action)?.get(resource);
  }

  set(user: string, action: Action, resource: string, allowed: boolean): void {
    if (this.size >= maxCachedDecisions) this.clear();
    let byAction = this.byUser.get(user);
    if (!byAction) this.byUser.set(user, (byAction = new Map()));
    let byResource = byAction.get(action);
    if (!byResource) byAction.set(action, (byResource = new Map()));
    byResource.set(resource, allowed);
    this.size++;
  }

  clear(): void {
    this.byUser.clear();
    this.size = 0;
  }
}

/** Users or roles by name; any change empties the ACL decisions made from them (`changed`). */
class RightsMap<V> extends Map<string, V> {
  constructor(private readonly changed: () => void) {
    super();
  }
  override set(key: string, value: V): this {
    this.changed();
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.changed();
    return super.delete(key);
  }
}

/** Users, roles, tokens and the ACL decision. */
export class BrokerSecurity implements SecurityPolicy {
  readonly audit: AuditLog;
  readonly owners: Owners;
  // Every change to these empties the ACL decision cache (RightsMap).
  private readonly users = new RightsMap<UserRow>(() => this.decisions.clear());
  private readonly roles = new RightsMap<Role>(() => this.decisions.clear());
  private readonly throttle: LoginThrottle;
  /** Failed logins and logins made to wait since start (for /metrics). */
  readonly loginCounters = { failed: 0, throttled: 0 };
  private readonly rightsListeners = new Set<(change: RightsChange) => void>();
  /**
   * ACL decisions: a publisher repeats the same few topics, and each decision otherwise walks
   * every rule of every role. Emptied whenever a user or role changes (the users and roles maps do it).
   */
  private readonly decisions = new DecisionCache();

  constructor(
    private readonly store: SecurityStore,
    readonly options: SecurityOptions,
    private readonly logger: Logger,
    /** Waits before a throttled attempt is checked (tests may observe it). */
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ) {
    this.audit = new AuditLog(store, options.auditMaxRecords);
    this.throttle = new LoginThrottle(options.bruteForce);
    this.owners = new Owners(store, options.maxSharedQueuesPerUser ?? 100);
    for (const user of store.listUsers()) this.users.set(user.name, user);
    for (const role of builtInRoles) this.roles.set(role.name, role);
    for (const row of store.listRoles())
      this.roles.set(row.name, {
        name: row.name,
        description: row.description,
        rules: JSON.parse(row.rulesJson) as AclRule[],
        builtIn: false,
      });
    store.deleteExpiredTokens(Date.now());
  }

  /** True while no user exists (first run: the setup operation is open). */
  get setupRequired(): boolean {
    return this.users.size === 0;
  }

  // ── SecurityPolicy ────────────────────────────────────────────────────────────────
  async authenticate(credentials: Credentials): Promise<Principal> {
    const base = {
      protocol: credentials.protocol,
      ...(credentials.clientId !== undefined && { clientId: credentials.clientId }),
      ...(credentials.address !== undefined && { address: credentials.address }),
    };
    if (credentials.token !== undefined) return { ...base, user: this.userOfToken(credentials.token) };
    const name = credentials.username;
    if (name === undefined || name === '') {
      if (this.options.anonymous) return { ...base, user: null };
      throw new SluiceError(
        'not-authenticated',
        'Credentials are required: anonymous access is off (config security.anonymous)',
      );
    }
    const password =
      typeof credentials.password === 'string' ? credentials.password : (credentials.password?.toString('utf8') ?? '');
    // One attempt at a time per (user, address), each counted before the slow path (throttle.ts).
    const done = await this.throttle.turn(name, credentials.address);
    try {
      await this.checkPassword(name, password, credentials);
    } finally {
      done();
    }
    return { ...base, user: name };
  }

  /** The password check of one login attempt: throttled, counted, audited when it fails. */
  private async checkPassword(name: string, password: string, credentials: Credentials): Promise<void> {
    const attempt = this.throttle.begin(name, credentials.address);
    if (attempt.delayMs > 0) {
      this.loginCounters.throttled++;
      await this.sleep(attempt.delayMs);
    }
    const user = this.users.get(name);
    // Unknown users cost a hash check too, so timing does not tell which names exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? unusableHash);
    if (!ok || !user) {
      this.loginCounters.failed++;
      this.logger.warn(
        {
          user: name,
          address: credentials.address,
          protocol: credentials.protocol,
          failures: attempt.failures,
          delayedMs: attempt.delayMs,
        },
        'security: failed login',
      );
      this.audit.record({
        user: name,
        protocol: credentials.protocol,
        address: credentials.address ?? null,
        operation: 'login',
        resource: name,
        result: 'refused',
        code: 'not-authenticated',
        detail:
          `bad user name or password (failure ${attempt.failures} for this user from this address` +
          (attempt.delayMs > 0 ? `; throttled ${attempt.delayMs} ms)` : ')'),
      });
      throw new SluiceError('not-authenticated', 'Bad user name or password');
    }
    this.throttle.succeeded(name, credentials.address);
  }

  allows(principal: Principal, action: Action, resource: string): boolean {
    // Anonymous ('') is no user name (userNamePattern).
    const user = principal.user ?? '';
    let allowed = this.decisions.get(user, action, resource);
    if (allowed === undefined) {
      allowed = rolesAllow(this.rolesOf(principal), principal, action, resource);
      this.decisions.set(user, action, resource, allowed);
    }
    return allowed;
  }

  recordEvent(principal: Principal, operation: string, resource: string, detail: string): void {
    this.audit.record({
      user: principal.user,
      protocol: principal.protocol,
      address: principal.address ?? null,
      operation,
      resource,
      result: 'refused',
      code: 'not-authorized',
      detail,
    });
  }

  onRightsChanged(listener: (change: RightsChange) => void): () => void {
    this.rightsListeners.add(listener);
    return () => this.rightsListeners.delete(listener);
  }

  /** DESIGN.md: rights are live. Tells every door at once; a failing listener does not stop the others. */
  private rightsChanged(change: RightsChange): void {
    for (const listener of this.rightsListeners)
      try {
        listener(change);
      } catch (error) {
        this.logger.warn({ err: error, ...change }, 'security: applying a rights change failed');
      }
  }

  // ── tokens ────────────────────────────────────────────────────────────────────────
  /** Issues a bearer token for an authenticated user; only its hash is stored. */
  issueToken(user: string): IssuedToken {
    const token = tokenPrefix + randomBytes(32).toString('base64url');
    const now = Date.now();
    const expiresAt = now + this.options.tokenTtlMs;
    this.store.putToken(hashToken(token), user, now, expiresAt);
    return { token, expiresAt, user };
  }

  revokeToken(token: string): void {
    this.store.deleteToken(hashToken(token));
  }

  private userOfToken(token: string): string {
    const found = token.startsWith(tokenPrefix) ? this.store.getToken(hashToken(token)) : undefined;
    if (!found || found.expiresAt <= Date.now() || !this.users.has(found.user)) {
      if (found) this.store.deleteToken(hashToken(token));
      throw new SluiceError('not-authenticated', 'The bearer token is unknown or expired; log in again');
    }
    return found.user;
  }

  // ── users ─────────────────────────────────────────────────────────────────────────
  listUsers(): UserInfo[] {
    return [...this.users.values()].sort((a, b) => a.name.localeCompare(b.name)).map(userInfo);
  }

  getUser(name: string): UserInfo {
    const user = this.users.get(name);
    if (!user) throw new SluiceError('user-not-found', `No user "${name}"`);
    return userInfo(user);
  }

  async createUser(name: string, password: string, roles: readonly string[]): Promise<UserInfo> {
    if (!userNamePattern.test(name))
      throw new SluiceError('invalid-input', `"${name}" is not a valid user name: 1–64 of A–Z a–z 0–9 . _ @ -`);
    this.assertRoles(roles);
    const now = Date.now();
    const row: UserRow = {
      name,
      passwordHash: await hashPassword(password),
      roles: [...roles],
      createdAt: now,
      updatedAt: now,
    };
    if (this.users.has(name) || !this.store.insertUser(row))
      throw new SluiceError('user-exists', `User "${name}" already exists`);
    this.users.set(name, row);
    return userInfo(row);
  }

  async updateUser(name: string, changes: { password?: string; roles?: readonly string[] }): Promise<UserInfo> {
    this.getUser(name);
    if (changes.roles) this.assertRoles(changes.roles);
    const passwordHash = changes.password !== undefined ? await hashPassword(changes.password) : undefined;
    const now = Date.now();
    this.store.updateUser(
      name,
      { ...(passwordHash !== undefined && { passwordHash }), ...(changes.roles && { roles: changes.roles }) },
      now,
    );
    this.users.set(name, this.store.getUser(name)!);
    // A new password ends the old credentials: bearer tokens and open connections.
    if (passwordHash !== undefined) {
      this.store.deleteTokensOf(name);
      this.rightsChanged({ user: name, kind: 'credentials' });
    } else if (changes.roles) this.rightsChanged({ user: name, kind: 'roles' });
    return this.getUser(name);
  }

  deleteUser(name: string): void {
    this.getUser(name);
    const admins = [...this.users.values()].filter((u) => u.roles.includes('admin'));
    if (admins.length === 1 && admins[0]!.name === name)
      throw new SluiceError('invalid-input', `"${name}" is the last admin; give another user the admin role first`);
    this.store.deleteUser(name); // and its tokens
    this.users.delete(name);
    this.rightsChanged({ user: name, kind: 'credentials' });
  }

  /** Users with their stored scrypt hashes, for a configuration export with secrets (docs/handover.md). */
  exportUsers(): Array<{ name: string; roles: string[]; passwordHash: string }> {
    return [...this.users.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((user) => ({ name: user.name, roles: [...user.roles], passwordHash: user.passwordHash }));
  }

  /**
   * Creates or updates a user from a configuration import, taking a stored hash as is (the
   * password itself never travels). A new user needs a hash; an existing one keeps its own
   * when none is given.
   */
  importUser(name: string, roles: readonly string[], passwordHash?: string): UserInfo {
    if (!userNamePattern.test(name))
      throw new SluiceError('invalid-input', `"${name}" is not a valid user name: 1–64 of A–Z a–z 0–9 . _ @ -`);
    this.assertRoles(roles);
    const now = Date.now();
    const existing = this.users.get(name);
    if (existing) {
      this.store.updateUser(name, { roles, ...(passwordHash !== undefined && { passwordHash }) }, now);
      this.users.set(name, this.store.getUser(name)!);
      // Rights are live (docs/security.md): an import that changes a user's password or roles
      // acts on its open connections and tokens exactly as users.update does.
      if (passwordHash !== undefined && passwordHash !== existing.passwordHash) {
        this.store.deleteTokensOf(name);
        this.rightsChanged({ user: name, kind: 'credentials' });
      } else if (!sameRoles(existing.roles, roles)) this.rightsChanged({ user: name, kind: 'roles' });
      return this.getUser(name);
    }
    if (passwordHash === undefined)
      throw new SluiceError('invalid-input', `User "${name}" is new here and the document has no password hash for it`);
    const row: UserRow = { name, passwordHash, roles: [...roles], createdAt: now, updatedAt: now };
    if (!this.store.insertUser(row)) throw new SluiceError('user-exists', `User "${name}" already exists`);
    this.users.set(name, row);
    return userInfo(row);
  }

  /** Removes a user without the last-admin check: only to undo a failed import's own creation. */
  removeImportedUser(name: string): void {
    this.store.deleteUser(name);
    this.users.delete(name);
    this.rightsChanged({ user: name, kind: 'credentials' });
  }

  /** First run: creates `admin` with a random password, once. Undefined if users exist. */
  async createInitialAdmin(): Promise<{ user: string; password: string } | undefined> {
    if (!this.setupRequired) return undefined;
    const password = randomPassword();
    await this.createUser('admin', password, ['admin']);
    return { user: 'admin', password };
  }

  // ── roles ─────────────────────────────────────────────────────────────────────────
  listRoles(): Role[] {
    return [...this.roles.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  putRole(name: string, description: string, rules: readonly AclRule[]): Role {
    if (!roleNamePattern.test(name))
      throw new SluiceError('invalid-input', `"${name}" is not a valid role name: 1–64 of A–Z a–z 0–9 . _ -`);
    if (this.roles.get(name)?.builtIn) throw new SluiceError('invalid-input', `Role "${name}" is built in`);
    rules.forEach((rule, index) => {
      const problem = invalidRule(rule);
      if (problem) throw new SluiceError('invalid-input', `rules.${index}: ${problem}`);
    });
    const role: Role = { name, description, rules: rules.map((r) => ({ ...r })), builtIn: false };
    this.store.putRole({ name, description, rulesJson: JSON.stringify(role.rules), updatedAt: Date.now() });
    this.roles.set(name, role);
    this.rightsChanged({ user: null, kind: 'roles' });
    return role;
  }

  deleteRole(name: string): void {
    const role = this.roles.get(name);
    if (!role) throw new SluiceError('role-not-found', `No role "${name}"`);
    if (role.builtIn) throw new SluiceError('invalid-input', `Role "${name}" is built in`);
    const users = [...this.users.values()].filter((u) => u.roles.includes(name)).map((u) => u.name);
    if (users.length > 0)
      throw new SluiceError('invalid-input', `Role "${name}" is given to ${users.join(', ')}; take it away first`);
    this.store.deleteRole(name);
    this.roles.delete(name);
  }

  /**
   * The roles in effect for a principal: a user's own; anonymous gets config anonymousRoles only
   * while anonymous access is on (a will stored by an anonymous client, a principal-less path:
   * no rights at all when it is off).
   */
  rolesOf(principal: Principal): Role[] {
    const names =
      principal.user === null
        ? this.options.anonymous
          ? this.options.anonymousRoles
          : []
        : (this.users.get(principal.user)?.roles ?? []);
    return names.map((name) => this.roles.get(name)).filter((role): role is Role => role !== undefined);
  }

  private assertRoles(roles: readonly string[]): void {
    for (const role of roles) if (!this.roles.has(role)) throw new SluiceError('role-not-found', `No role "${role}"`);
  }
}

function userInfo(user: UserRow): UserInfo {
  return { name: user.name, roles: [...user.roles], createdAt: user.createdAt, updatedAt: user.updatedAt };
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}
