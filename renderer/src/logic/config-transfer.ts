/**
 * Settings view logic (docs/handover.md): reading an import file into a document the broker will
 * understand, the import plan as rows people read, backup progress, and reassembling a backup
 * downloaded in chunks. Pure: no React, no DOM.
 */
import type { BackupStatus, ConfigImportResult, OperationOutput } from '../../../core/api/contract.ts';
import { parseConfigDocument } from '../../../core/schema/config-document.ts';
import { SluiceError } from '../../../core/errors.ts';

/** A file's text as a configuration document, or the precise reason it is not one. */
export function readConfigFile(
  text: string,
): { ok: true; document: Record<string, unknown> } | { ok: false; problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON: ${(error as Error).message}` };
  }
  try {
    parseConfigDocument(value); // the broker checks again; this answers before anything is sent
  } catch (error) {
    return { ok: false, problem: error instanceof SluiceError ? error.detail : String(error) };
  }
  return { ok: true, document: value as Record<string, unknown> };
}

/** One row of the import diff. */
export interface PlanRow {
  readonly key: string;
  readonly sign: '+' | '~' | '!' | '-' | '=';
  readonly kind: string;
  readonly name: string;
  readonly what: string;
}

const signs = { create: '+', update: '~', manual: '!', skip: '-', unchanged: '=' } as const;

/** The plan's changes first (create, update, manual, skip), unchanged last. */
export function planRows(result: ConfigImportResult): PlanRow[] {
  const order = ['create', 'update', 'manual', 'skip', 'unchanged'];
  return [...result.changes]
    .sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action) || a.kind.localeCompare(b.kind))
    .map((change) => ({
      key: `${change.kind}:${change.name}`,
      sign: signs[change.action],
      kind: change.kind,
      name: change.name,
      what: [change.action, change.fields.length > 0 ? `(${change.fields.join(', ')})` : '', change.detail ?? '']
        .filter(Boolean)
        .join(' '),
    }));
}

/** What an import would change, in one line. */
export function planSummary(result: ConfigImportResult): string {
  const by = (action: string) => result.changes.filter((change) => change.action === action).length;
  const applying = by('create') + by('update');
  if (applying === 0 && by('manual') === 0) return 'Nothing to change: the broker already matches the document.';
  return `${by('create')} to create, ${by('update')} to update, ${by('unchanged')} unchanged${by('manual') > 0 ? `, ${by('manual')} to set in the config file` : ''}${by('skip') > 0 ? `, ${by('skip')} skipped` : ''}.`;
}

/** Pages copied of the total, for the progress bar. */
export function backupProgress(status: BackupStatus): { done: number; total: number; text: string } {
  const total = status.totalPages;
  const done = status.state === 'completed' ? total : total - status.remainingPages;
  const percent = total > 0 ? Math.floor((100 * done) / total) : 0;
  const text =
    status.state === 'running'
      ? `Backing up: ${percent}% (${done} of ${total} pages)`
      : status.state === 'completed'
        ? `Backup ${status.file}: ${total} pages, ${status.bytes} bytes`
        : `Backup failed: ${status.error ?? 'unknown error'}`;
  return { done, total, text };
}

/** Reassembles a downloaded backup from its chunks (in any order); refuses a gap. */
export function assembleBackup(chunks: ReadonlyArray<OperationOutput<'backup.download'>>): Uint8Array {
  const totalBytes = chunks[0]?.totalBytes ?? 0;
  const bytes = new Uint8Array(totalBytes);
  let filled = 0;
  for (const chunk of chunks) {
    const binary = atob(chunk.data);
    for (let i = 0; i < binary.length; i++) bytes[chunk.offset + i] = binary.charCodeAt(i);
    filled += binary.length;
  }
  if (filled !== totalBytes) throw new Error(`the backup arrived incomplete (${filled} of ${totalBytes} bytes)`);
  return bytes;
}
