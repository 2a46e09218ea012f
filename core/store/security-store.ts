import type Database from 'better-sqlite3';

/** A stored user. */
export interface UserRow {
  readonly name: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A stored role: its rules as JSON the security layer parses. */
export interface RoleRow {
  readonly name: string;
  readonly rulesJson: string;
  readonly description: string;
  readonly updatedAt: number;
}

/** One audit record. */
export interface AuditRow {
  readonly id: number;
  readonly at: number;
  readonly user: string | null;
  readonly protocol: string;
  readonly address: string | null;
  readonly operation: string;
  readonly resource: string;
  readonly result: 'ok' | 'refused' | 'failed';
  readonly code: string | null;
  readonly detail: string | null;
}

/** Which audit records to read; every field optional and ANDed. */
export interface AuditQuery {
  readonly user?: string;
  readonly operation?: string;
  readonly result?: 'ok' | 'refused' | 'failed';
  readonly from?: number;
  readonly until?: number;
  readonly afterId?: number;
  readonly limit: number;
}

/**
 * SQL for users, roles, tokens and the audit log (migration 003). Each write is its own
 * autocommit statement on the engine's connection: better-sqlite3 is synchronous, so it never
 * interleaves with a group commit's transaction.
 */
export class SecurityStore {
  private readonly s: ReturnType<typeof prepare>;

  constructor(private readonly db: Database.Database) {
    this.s = prepare(db);
  }

  // ── users ─────────────────────────────────────────────────────────────────────────
  listUsers(): UserRow[] {
    return (this.s.listUsers.all() as RawUser[]).map(toUser);
  }
  getUser(name: string): UserRow | undefined {
    const row = this.s.getUser.get(name) as RawUser | undefined;
    return row && toUser(row);
  }
  countUsers(): number {
    return (this.s.countUsers.get() as { n: number }).n;
  }
  /** Inserts a user; false if the name is taken. */
  insertUser(user: UserRow): boolean {
    return (
      this.s.insertUser.run(user.name, user.passwordHash, JSON.stringify(user.roles), user.createdAt, user.updatedAt)
        .changes === 1
    );
  }
  updateUser(name: string, changes: { passwordHash?: string; roles?: readonly string[] }, at: number): boolean {
    const current = this.getUser(name);
    if (!current) return false;
    this.s.updateUser.run(
      changes.passwordHash ?? current.passwordHash,
      JSON.stringify(changes.roles ?? current.roles),
      at,
      name,
    );
    return true;
  }
  deleteUser(name: string): boolean {
    return this.db.transaction(() => {
      this.s.deleteTokensOf.run(name);
      return this.s.deleteUser.run(name).changes === 1;
    })();
  }

  // ── roles ─────────────────────────────────────────────────────────────────────────
  listRoles(): RoleRow[] {
    return (this.s.listRoles.all() as RawRole[]).map(toRole);
  }
  putRole(role: RoleRow): void {
    this.s.putRole.run(role.name, role.rulesJson, role.description, role.updatedAt);
  }
  deleteRole(name: string): boolean {
    return this.s.deleteRole.run(name).changes === 1;
  }

  // ── tokens ────────────────────────────────────────────────────────────────────────
  putToken(tokenHash: string, user: string, createdAt: number, expiresAt: number): void {
    this.s.putToken.run(tokenHash, user, createdAt, expiresAt);
  }
  getToken(tokenHash: string): { user: string; expiresAt: number } | undefined {
    return this.s.getToken.get(tokenHash) as { user: string; expiresAt: number } | undefined;
  }
  deleteToken(tokenHash: string): void {
    this.s.deleteToken.run(tokenHash);
  }
  deleteExpiredTokens(now: number): number {
    return this.s.deleteExpiredTokens.run(now).changes;
  }

  // ── owners ────────────────────────────────────────────────────────────────────────
  /** Every owned resource (user '' = anonymous). */
  listOwners(): Array<{ resource: string; user: string }> {
    return this.s.listOwners.all() as Array<{ resource: string; user: string }>;
  }
  putOwner(resource: string, user: string, at: number): void {
    this.s.putOwner.run(resource, user, at);
  }
  deleteOwner(resource: string): void {
    this.s.deleteOwner.run(resource);
  }
  /** Deletes the user's tokens (password change, disable). */
  deleteTokensOf(user: string): number {
    return this.s.deleteTokensOf.run(user).changes;
  }

  // ── audit ─────────────────────────────────────────────────────────────────────────
  appendAudit(record: Omit<AuditRow, 'id'>): number {
    const r = record;
    return Number(
      this.s.appendAudit.run(r.at, r.user, r.protocol, r.address, r.operation, r.resource, r.result, r.code, r.detail)
        .lastInsertRowid,
    );
  }
  queryAudit(query: AuditQuery): AuditRow[] {
    const where: string[] = ['id > @afterId'];
    if (query.user !== undefined) where.push('user = @user');
    if (query.operation !== undefined) where.push('operation = @operation');
    if (query.result !== undefined) where.push('result = @result');
    if (query.from !== undefined) where.push('at >= @from');
    if (query.until !== undefined) where.push('at <= @until');
    const sql = `SELECT id, at, user, protocol, address, operation, resource, result, code, detail
      FROM security_audit WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`;
    return this.db.prepare(sql).all({ ...query, afterId: query.afterId ?? 0 }) as AuditRow[];
  }
  /** Keeps the newest `keep` records. */
  pruneAudit(keep: number): number {
    return this.s.pruneAudit.run(keep).changes;
  }
}

interface RawUser {
  name: string;
  password_hash: string;
  roles: string;
  created_at: number;
  updated_at: number;
}
interface RawRole {
  name: string;
  rules: string;
  description: string;
  updated_at: number;
}

function toUser(row: RawUser): UserRow {
  return {
    name: row.name,
    passwordHash: row.password_hash,
    roles: JSON.parse(row.roles) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
function toRole(row: RawRole): RoleRow {
  return { name: row.name, rulesJson: row.rules, description: row.description, updatedAt: row.updated_at };
}

function prepare(db: Database.Database) {
  return {
    listUsers: db.prepare('SELECT * FROM security_users ORDER BY name'),
    getUser: db.prepare('SELECT * FROM security_users WHERE name = ?'),
    countUsers: db.prepare('SELECT count(*) AS n FROM security_users'),
    insertUser: db.prepare(
      'INSERT OR IGNORE INTO security_users (name, password_hash, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    ),
    updateUser: db.prepare('UPDATE security_users SET password_hash = ?, roles = ?, updated_at = ? WHERE name = ?'),
    deleteUser: db.prepare('DELETE FROM security_users WHERE name = ?'),
    listRoles: db.prepare('SELECT * FROM security_roles ORDER BY name'),
    putRole: db.prepare(
      `INSERT INTO security_roles (name, rules, description, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET rules = excluded.rules, description = excluded.description, updated_at = excluded.updated_at`,
    ),
    deleteRole: db.prepare('DELETE FROM security_roles WHERE name = ?'),
    putToken: db.prepare('INSERT INTO security_tokens (token_hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)'),
    getToken: db.prepare('SELECT user, expires_at AS expiresAt FROM security_tokens WHERE token_hash = ?'),
    deleteToken: db.prepare('DELETE FROM security_tokens WHERE token_hash = ?'),
    deleteTokensOf: db.prepare('DELETE FROM security_tokens WHERE user = ?'),
    deleteExpiredTokens: db.prepare('DELETE FROM security_tokens WHERE expires_at <= ?'),
    listOwners: db.prepare('SELECT resource, user FROM security_owners'),
    putOwner: db.prepare(
      `INSERT INTO security_owners (resource, user, created_at) VALUES (?, ?, ?)
       ON CONFLICT (resource) DO UPDATE SET user = excluded.user`,
    ),
    deleteOwner: db.prepare('DELETE FROM security_owners WHERE resource = ?'),
    appendAudit: db.prepare(
      `INSERT INTO security_audit (at, user, protocol, address, operation, resource, result, code, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    pruneAudit: db.prepare('DELETE FROM security_audit WHERE id <= (SELECT max(id) FROM security_audit) - ?'),
  };
}
