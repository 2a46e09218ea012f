/**
 * Online backups as jobs (docs/handover.md): `backup.start` begins SQLite's backup of the open
 * store into `<dataDir>/backups/`, `backup.get` reports pages copied, and `backup.download`
 * hands the finished file out in chunks. The broker keeps serving throughout.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SluiceError, toSluiceError } from '../errors.ts';
import type { Engine } from '../engine/engine.ts';
import type { BackupStatus } from './contract.ts';

/** Bytes per downloaded chunk (before base64). */
const chunkBytes = 512 * 1024;
/** Finished jobs remembered for backup.get (their files stay on disk). */
const keepJobs = 50;

/** The backup jobs of one broker. */
export class BackupJobs {
  private readonly jobs = new Map<string, BackupStatus>();
  private nextId = 1;

  constructor(private readonly engine: Engine) {}

  /** Where backups are written: beside the database, in backups/. */
  get directory(): string {
    return join(dirname(this.engine.store.file), 'backups');
  }

  /** Starts a backup; its progress is then in `get(id)`. */
  start(): BackupStatus {
    const id = String(this.nextId++);
    const startedAt = Date.now();
    const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
    const file = `sluice-${stamp}-${id}.db`;
    let status: BackupStatus = {
      id,
      state: 'running',
      file,
      totalPages: 0,
      remainingPages: 0,
      bytes: 0,
      startedAt,
      finishedAt: null,
      error: null,
    };
    const update = (changes: Partial<BackupStatus>) => {
      status = { ...status, ...changes };
      this.jobs.set(id, status);
    };
    update({});
    this.prune();
    this.engine.store
      .backup(join(this.directory, file), ({ totalPages, remainingPages }) => update({ totalPages, remainingPages }))
      .then(
        (result) => {
          update({
            state: 'completed',
            totalPages: result.totalPages,
            remainingPages: 0,
            bytes: result.bytes,
            finishedAt: Date.now(),
          });
          this.engine.logger.info({ file, bytes: result.bytes }, 'backup completed');
        },
        (error: unknown) => {
          update({ state: 'failed', error: toSluiceError(error).detail, finishedAt: Date.now() });
          this.engine.logger.error({ err: error, file }, 'backup failed');
        },
      );
    return status;
  }

  get(id: string): BackupStatus {
    const status = this.jobs.get(id);
    if (!status) throw new SluiceError('backup-not-found', `No backup ${id} (ids restart with the broker)`);
    return status;
  }

  /**
   * A finished backup's bytes as NDJSON lines of `{ offset, data (base64), totalBytes }`. Checked
   * before the first line, so an unknown or unfinished backup is an error answer, not a stream.
   */
  download(id: string): Iterable<string> {
    const status = this.get(id);
    if (status.state !== 'completed')
      throw new SluiceError('backup-not-found', `Backup ${id} is ${status.state}, not completed: nothing to download`);
    return chunks(join(this.directory, status.file));
  }
  private prune(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= keepJobs) break;
      if (job.state !== 'running') this.jobs.delete(id);
    }
  }
}

function* chunks(path: string): Iterable<string> {
  const totalBytes = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(chunkBytes);
    for (let offset = 0; offset < totalBytes;) {
      const read = readSync(fd, buffer, 0, chunkBytes, offset);
      if (read === 0) break;
      yield `${JSON.stringify({ offset, data: buffer.subarray(0, read).toString('base64'), totalBytes })}\n`;
      offset += read;
    }
  } finally {
    closeSync(fd);
  }
}
