import type Database from 'better-sqlite3';

/** Rows per multi-row INSERT, largest first: n buffered rows take a few statements, not n. */
const batchSizes = [128, 16, 1] as const;

/**
 * A multi-row INSERT into one table. One statement per row costs a call into SQLite, a bind per
 * value and (on an AUTOINCREMENT table) a sqlite_sequence update each; one statement for up to
 * 128 rows pays those once. Values are given flat: `columns.length` per row, in column order.
 */
export class BatchedInsert {
  /** Values per row. */
  readonly width: number;
  private readonly statements: ReadonlyMap<number, Database.Statement>;

  constructor(db: Database.Database, table: string, columns: readonly string[]) {
    this.width = columns.length;
    const row = `(${columns.map(() => '?').join(', ')})`;
    this.statements = new Map(
      batchSizes.map((n) => [
        n,
        db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array(n).fill(row).join(', ')}`),
      ]),
    );
  }

  /** The most rows one statement takes. */
  get maxRows(): number {
    return batchSizes[0];
  }

  /** Inserts the rows in `values` (`width` values each). */
  run(values: ReadonlyArray<unknown>): void {
    let at = 0;
    let left = values.length / this.width;
    for (const n of batchSizes) {
      const stmt = this.statements.get(n)!;
      const width = n * this.width;
      for (; left >= n; left -= n, at += width)
        stmt.run(at === 0 && width === values.length ? values : values.slice(at, at + width));
    }
  }
}
