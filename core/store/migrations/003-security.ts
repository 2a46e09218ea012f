/** Users, roles, login tokens and the audit log (core/security; SQL in core/store/security-store.ts). */
export const version = 3;

export const up = `
CREATE TABLE security_users (
  name          TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,   -- scrypt$N$r$p$salt$hash (core/security/passwords.ts)
  roles         TEXT NOT NULL,   -- JSON array of role names
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE security_roles (
  name        TEXT PRIMARY KEY,
  rules       TEXT NOT NULL,     -- JSON array of { actions, patterns }
  description TEXT NOT NULL DEFAULT '',
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Bearer tokens are stored as their SHA-256, never as issued.
CREATE TABLE security_tokens (
  token_hash TEXT PRIMARY KEY,
  user       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX security_tokens_by_user ON security_tokens (user);

CREATE TABLE security_audit (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  user      TEXT,
  protocol  TEXT NOT NULL,
  address   TEXT,
  operation TEXT NOT NULL,
  resource  TEXT NOT NULL,
  result    TEXT NOT NULL,       -- ok | refused | failed
  code      TEXT,
  detail    TEXT
);
CREATE INDEX security_audit_by_time ON security_audit (at);
`;
