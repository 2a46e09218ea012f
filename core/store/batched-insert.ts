import type Database from 'better-sqlite3';

/** Rows per statement at most: more go in several. */
const maxRows = 128;

/**
 * A multi-row INSERT into one table. One statement per row costs a call into SQLite, a bind per
 * value and (on an AUTOINCREMENT table) a sqlite_sequence update each; one statement for up to
 * 128 rows pays those once. Values are given flat: `columns.length` per row, in column order.
 * The statement for n rows is prepared the first time n rows come, then kept (at most 128).
 */
export class BatchedInsert {
  /** Values per row. */
  readonly width: number;
  /** The most rows one statement takes. */
  readonly maxRows = maxRows;
  private readonly statements: Array<Database.Statement | undefined> = [];
  private readonly sql: (rows: number) => string;

  constructor(
    private readonly db: Database.Database,
    table: string,
    columns: readonly string[],
  ) {
    this.width = columns.length;
    const row = `(${columns.map(() => '?').join(', ')})`;
    this.sql = (rows) => `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`;
  }

  /** Inserts the rows in `values` (`width` values each): one statement per 128 rows. */
  run(values: ReadonlyArray<unknown>): void {
    const block = maxRows * this.width;
    for (let at = 0; at < values.length; at += block) {
      const part = at === 0 && values.length <= block ? values : values.slice(at, at + block);
      const rows = part.length / this.width;
      const statement = (this.statements[rows] ??= this.db.prepare(this.sql(rows)));
      // Spread, not one array: better-sqlite3 reads call arguments directly but an array's
      // elements one property look-up each (about 10% of a log row's insert, measured).
      statement.run(...part);
    }
  }
}
