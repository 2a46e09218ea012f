/**
 * Online backup and restore of the broker's database (docs/handover.md). A backup is SQLite's
 * own backup API run on the broker's open connection, a few thousand pages per event-loop turn:
 * the broker keeps committing meanwhile, and because the writes come through the same
 * connection SQLite carries them into the copy as it goes, so the file is one consistent
 * snapshot as of the moment it finished — never a file copy of a database that is being written.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SluiceError } from '../errors.ts';
import { migrations } from './migrations/index.ts';

/** Pages copied so far of the database's current size. */
export interface BackupProgress {
  readonly totalPages: number;
  readonly remainingPages: number;
}

/** What a finished backup or restore copied. */
export interface BackupResult {
  readonly totalPages: number;
  readonly bytes: number;
}

/** Pages per step: ~16 MiB at 4 KiB pages, small enough to keep publishes flowing between steps. */
const defaultPagesPerStep = 4096;

/**
 * Copies the open database `db` into `file` (written as `file.partial`, checked, then renamed,
 * so a crash never leaves a half backup under the final name).
 */
export async function backupDatabase(
  db: Database.Database,
  file: string,
  onProgress?: (progress: BackupProgress) => void,
  pagesPerStep = defaultPagesPerStep,
): Promise<BackupResult> {
  const partial = `${file}.partial`;
  mkdirSync(dirname(file), { recursive: true });
  rmSync(partial, { force: true });
  try {
    const result = await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.({ totalPages, remainingPages });
        return pagesPerStep;
      },
    });
    const checked = checkBackupFile(partial);
    renameSync(partial, file);
    onProgress?.({ totalPages: result.totalPages, remainingPages: 0 });
    return { totalPages: result.totalPages, bytes: checked.bytes };
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof SluiceError) throw error;
    throw new SluiceError('store-error', `Backup to ${file} failed: ${(error as Error).message}`);
  }
}

/**
 * Opens a backup read-only and checks that it is a whole Sluice database: PRAGMA
 * integrity_check is ok and it carries the broker's schema (a `meta` table and a schema
 * version this build knows how to migrate).
 */
export function checkBackupFile(file: string, newestVersion?: number): { bytes: number; schemaVersion: number } {
  if (!existsSync(file)) throw new SluiceError('invalid-backup', `${file} does not exist`);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((row) => row.integrity_check)
      .join('; ');
    if (integrity !== 'ok') throw new SluiceError('invalid-backup', `${file} fails integrity_check: ${integrity}`);
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (schemaVersion === 0 || !hasMeta)
      throw new SluiceError('invalid-backup', `${file} is an SQLite database but not a Sluice store`);
    if (newestVersion !== undefined && schemaVersion > newestVersion)
      throw new SluiceError(
        'invalid-backup',
        `${file} has store schema ${schemaVersion}, newer than this Sluice understands (${newestVersion}); restore it with a newer version`,
      );
    const pages = db.pragma('page_count', { simple: true }) as number;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    return { bytes: pages * pageSize, schemaVersion };
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    throw new SluiceError('invalid-backup', `${file} is not a readable SQLite database: ${(error as Error).message}`);
  } finally {
    db?.close();
  }
}

/**
 * Restores a backup as the database file `target` of a broker that is not running. Refuses to
 * overwrite an existing store unless `force`; the old store's WAL and shared-memory files go
 * with it so SQLite cannot replay a stale log over the restored pages.
 */
export async function restoreDatabase(
  backupFile: string,
  target: string,
  options: { readonly force?: boolean; readonly onProgress?: (progress: BackupProgress) => void } = {},
): Promise<BackupResult> {
  checkBackupFile(backupFile, Math.max(...migrations.map((migration) => migration.version)));
  if (existsSync(target) && !options.force)
    throw new SluiceError(
      'invalid-backup',
      `${target} already holds a store; restore into a new data directory, or pass force to replace it`,
    );
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.restoring`;
  rmSync(partial, { force: true });
  const source = new Database(backupFile, { readonly: true, fileMustExist: true });
  try {
    const result = await source.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        options.onProgress?.({ totalPages, remainingPages });
        return defaultPagesPerStep;
      },
    });
    const checked = checkBackupFile(partial);
    for (const suffix of ['-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
    renameSync(partial, target);
    return { totalPages: result.totalPages, bytes: checked.bytes };
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof SluiceError) throw error;
    throw new SluiceError('store-error', `Restore of ${backupFile} failed: ${(error as Error).message}`);
  } finally {
    source.close();
  }
}
