import type Database from 'better-sqlite3';

/** A stored push consumer: its configuration as JSON the push adapter parses. */
export interface PushConsumerRow {
  readonly name: string;
  readonly queue: string;
  readonly configJson: string;
  /** `file`: declared in the config file; `api`: created at run time. */
  readonly source: 'file' | 'api';
  readonly createdBy: string | null;
  readonly updatedAt: number;
}

interface RawRow {
  name: string;
  queue: string;
  config_json: string;
  source: string;
  created_by: string | null;
  updated_at: number;
}

/**
 * SQL for push consumers (migration 005). Each write is its own autocommit statement on the
 * engine's connection: better-sqlite3 is synchronous, so it never interleaves with a group commit.
 */
export class PushStore {
  private readonly s: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.s = prepare(db);
  }

  list(): PushConsumerRow[] {
    return (this.s.list.all() as RawRow[]).map(toRow);
  }

  get(name: string): PushConsumerRow | undefined {
    const raw = this.s.get.get(name) as RawRow | undefined;
    return raw && toRow(raw);
  }

  put(row: PushConsumerRow): void {
    this.s.put.run(row.name, row.queue, row.configJson, row.source, row.createdBy, row.updatedAt);
  }

  delete(name: string): boolean {
    return this.s.delete.run(name).changes > 0;
  }
}

function prepare(db: Database.Database) {
  return {
    list: db.prepare('SELECT * FROM push_consumers ORDER BY name'),
    get: db.prepare('SELECT * FROM push_consumers WHERE name = ?'),
    put: db.prepare(
      `INSERT INTO push_consumers (name, queue, config_json, source, created_by, updated_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET queue = excluded.queue, config_json = excluded.config_json,
         source = excluded.source, created_by = excluded.created_by, updated_at = excluded.updated_at`,
    ),
    delete: db.prepare('DELETE FROM push_consumers WHERE name = ?'),
  };
}

function toRow(raw: RawRow): PushConsumerRow {
  return {
    name: raw.name,
    queue: raw.queue,
    configJson: raw.config_json,
    source: raw.source === 'file' ? 'file' : 'api',
    createdBy: raw.created_by,
    updatedAt: raw.updated_at,
  };
}
