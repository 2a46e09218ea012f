/**
 * `sluice config export|import|schema`, `sluice backup FILE` and `sluice restore FILE`
 * (docs/handover.md). Export, import and backup are client calls to a running broker through
 * the contract; restore works on a data directory while no broker runs on it.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { HttpClient } from './api/client.ts';
import { contract, type ConfigImportResult, type OperationName } from './api/contract.ts';
import { SluiceError } from './errors.ts';
import { restoreDatabase, type BackupProgress } from './store/backup.ts';

/** What a transfer command gets from the CLI's runner (core/cli.ts). */
interface Invocation {
  readonly client: HttpClient;
  readonly options: Record<string, unknown>;
  readonly json: boolean;
}
type Run = (cmd: Command, work: (invocation: Invocation) => Promise<string>) => Promise<void>;
interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** The operations these commands run (for the contract's CLI coverage check). */
export const transferCommands: ReadonlyArray<{ readonly words: readonly string[]; readonly op: OperationName }> = [
  { words: ['config', 'export'], op: 'config.export' },
  { words: ['config', 'export', '--format', 'rabbitmq'], op: 'config.rabbitmq' },
  { words: ['config', 'import'], op: 'config.import' },
  { words: ['config', 'schema'], op: 'config.schema' },
  { words: ['backup'], op: 'backup.start' },
  { words: ['backup'], op: 'backup.get' },
  { words: ['backup'], op: 'backup.download' },
];

/** The database file inside a data directory (core/broker.ts opens the same). */
export const databaseFileIn = (dataDir: string) => join(dataDir, 'sluice.db');

/** One line of an import plan, as people read it. */
export function describeChanges(result: ConfigImportResult): string {
  const lines = result.changes
    .filter((change) => change.action !== 'unchanged')
    .map((change) => {
      const sign = { create: '+', update: '~', manual: '!', skip: '-', unchanged: ' ' }[change.action];
      const fields = change.fields.length > 0 ? ` (${change.fields.join(', ')})` : '';
      const detail = change.detail ? ` — ${change.detail}` : '';
      return `${sign} ${change.kind} ${change.name}: ${change.action}${fields}${detail}`;
    });
  const unchanged = result.changes.filter((change) => change.action === 'unchanged').length;
  const summary = `${lines.length} change(s), ${unchanged} unchanged`;
  const warnings = result.warnings.map((warning) => `warning: ${warning}`);
  return [...lines, summary, ...warnings].join('\n');
}

/** A progress line for a backup or restore: percent of pages. */
function progressLine(what: string, progress: BackupProgress): string {
  const done = progress.totalPages - progress.remainingPages;
  const percent = progress.totalPages > 0 ? Math.floor((100 * done) / progress.totalPages) : 0;
  return `${what}: ${percent}% (${done}/${progress.totalPages} pages)\n`;
}

/** Restores a backup into a data directory (used by `sluice restore` and `sluice serve --restore`). */
export async function restoreInto(file: string, dataDir: string, force: boolean, io: Output): Promise<void> {
  let lastPercent = -1;
  const result = await restoreDatabase(file, databaseFileIn(dataDir), {
    force,
    onProgress: (progress) => {
      const percent =
        progress.totalPages > 0
          ? Math.floor((10 * (progress.totalPages - progress.remainingPages)) / progress.totalPages)
          : 0;
      if (percent !== lastPercent) io.err(progressLine('restore', progress));
      lastPercent = percent;
    },
  });
  io.err(`Restored ${file} into ${dataDir} (${result.totalPages} pages, ${result.bytes} bytes)\n`);
}

/** Adds the transfer commands to the program. */
export function addTransferCommands(program: Command, run: Run, io: Output, setExit: (code: number) => void): void {
  const config = program
    .command('config')
    .description('Configuration: export, import (with a dry-run diff), JSON Schema');

  config
    .command('export')
    .description(contract['config.export'].summary)
    .option('--format <format>', 'sluice (the document) or rabbitmq (RabbitMQ definitions)', 'sluice')
    .option('--include-secrets', 'include password hashes and bridge credentials')
    .option('--vhost <vhost>', 'RabbitMQ virtual host (--format rabbitmq)', '/')
    .option('--output <file>', 'write to a file instead of stdout')
    .action(async (_options: unknown, self: Command) => {
      await run(self, async ({ client, options }) => {
        let document: unknown;
        if (options.format === 'rabbitmq') {
          if (options.includeSecrets === true)
            throw new SluiceError('invalid-input', '--include-secrets does not apply to --format rabbitmq');
          const conversion = await client.call('config.rabbitmq', { vhost: options.vhost as string });
          for (const warning of conversion.warnings) io.err(`warning: ${warning}\n`);
          document = conversion.definitions;
        } else if (options.format === 'sluice')
          document = await client.call('config.export', { includeSecrets: options.includeSecrets === true });
        else throw new SluiceError('invalid-input', `--format is sluice or rabbitmq, not "${String(options.format)}"`);
        const text = `${JSON.stringify(document, null, 2)}\n`;
        if (options.output === undefined) return text.trimEnd();
        // A document with secrets is readable by its owner only.
        writeFileSync(options.output as string, text, { mode: 0o600 });
        io.err(`Exported to ${options.output as string}\n`);
        return '';
      });
    });

  config
    .command('import')
    .description(contract['config.import'].summary)
    .argument('<file>', 'a document from sluice config export')
    .option('--dry-run', 'only print what would change')
    .option('--write-config <file>', 'also write the document’s listener and bridge sections into this config file')
    .action(async (file: string, _options: unknown, self: Command) => {
      await run(self, async ({ client, options, json }) => {
        let document: Record<string, unknown>;
        try {
          document = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        } catch (error) {
          throw new SluiceError('invalid-config-document', `${file}: ${(error as Error).message}`);
        }
        // The diff first, always; then the same document applied (all or nothing).
        const preview = await client.call('config.import', { document, dryRun: true });
        if (options.dryRun === true) return json ? JSON.stringify(preview, null, 2) : describeChanges(preview);
        io.err(`${describeChanges(preview)}\n`);
        const result = await client.call('config.import', { document, dryRun: false });
        if (options.writeConfig !== undefined) writeConfigSections(options.writeConfig as string, document, io);
        const applied = result.changes.filter((c) => c.action === 'create' || c.action === 'update').length;
        return json ? JSON.stringify(result, null, 2) : `Applied ${applied} change(s) from ${file}`;
      });
    });

  config
    .command('schema')
    .description(contract['config.schema'].summary)
    .action(async (_options: unknown, self: Command) => {
      await run(self, async ({ client }) => JSON.stringify(await client.call('config.schema', {}), null, 2));
    });

  program
    .command('backup')
    .description(`${contract['backup.start'].summary}, then download it to FILE`)
    .argument('<file>', 'where to write the backup (an SQLite database)')
    .action(async (file: string, _options: unknown, self: Command) => {
      await run(self, async ({ client, json }) => {
        let status = await client.call('backup.start', {});
        let lastShown = -1;
        while (status.state === 'running') {
          const percent =
            status.totalPages > 0
              ? Math.floor((10 * (status.totalPages - status.remainingPages)) / status.totalPages)
              : 0;
          if (percent !== lastShown && status.totalPages > 0) io.err(progressLine('backup', status));
          lastShown = percent;
          await new Promise((resolve) => setTimeout(resolve, 200));
          status = await client.call('backup.get', { id: status.id });
        }
        if (status.state === 'failed') throw new SluiceError('store-error', `Backup failed: ${status.error ?? ''}`);
        const partial = `${file}.partial`;
        const fd = openSync(partial, 'w', 0o600);
        let written = 0;
        try {
          for await (const chunk of client.stream('backup.download', { id: status.id })) {
            const bytes = Buffer.from(chunk.data, 'base64');
            writeSync(fd, bytes, 0, bytes.length, chunk.offset);
            written += bytes.length;
          }
        } finally {
          closeSync(fd);
        }
        if (written !== status.bytes) {
          rmSync(partial, { force: true });
          throw new SluiceError(
            'store-error',
            `Download of backup ${status.id} was cut short (${written} of ${status.bytes} bytes)`,
          );
        }
        renameSync(partial, file);
        return json
          ? JSON.stringify({ ...status, output: file }, null, 2)
          : `Backup ${status.id}: ${status.totalPages} pages, ${status.bytes} bytes written to ${file}`;
      });
    });

  program
    .command('restore')
    .description('Restore a backup into a data directory (no broker may be running on it); then sluice serve')
    .argument('<file>', 'a backup from sluice backup')
    .requiredOption('--data-dir <dir>', 'the data directory to restore into (new, or --force)')
    .option('--force', 'replace a store already in the data directory')
    .action(async (file: string, options: { dataDir: string; force?: boolean }) => {
      await restoreInto(file, options.dataDir, options.force === true, io);
      setExit(0);
    });
}

/** Writes the document's listener and bridge sections into a config file (others kept). */
function writeConfigSections(file: string, document: Record<string, unknown>, io: Output): void {
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const listeners = (document.listeners ?? {}) as Record<string, unknown>;
  const next = { ...current, ...listeners, ...(document.bridges !== undefined && { bridges: document.bridges }) };
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  io.err(`Wrote listener and bridge settings to ${file} (they take effect when sluice serve restarts with it)\n`);
}
