/**
 * Settings: carry a commissioned configuration to production (docs/handover.md). Export the
 * configuration document (secrets only when ticked) or RabbitMQ definitions (with the warnings
 * of what RabbitMQ cannot express); import a document after reading its diff; take an online
 * backup with its progress and download it.
 */
import { useEffect, useState, type ReactNode } from 'react';
import type { BackupStatus, ConfigImportResult } from '../../../core/api/contract.ts';
import { useBroker } from '../api/hooks.ts';
import { ConfirmButton, Notice, Progress } from '../components/bits.tsx';
import { assembleBackup, backupProgress, planRows, planSummary, readConfigFile } from '../logic/config-transfer.ts';
import { refusalNotice } from '../logic/session.ts';

type NoticeState = { ok: boolean; text: string; denied?: boolean } | undefined;

/** Offers bytes or text to the user as a file download. */
function download(name: string, content: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const stamp = () => new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');

export function Settings(): ReactNode {
  return (
    <section className="view" aria-label="Settings">
      <ExportPanel />
      <ImportPanel />
      <BackupPanel />
    </section>
  );
}

function ExportPanel(): ReactNode {
  const { api } = useBroker();
  const [secrets, setSecrets] = useState(false);
  const [notice, setNotice] = useState<NoticeState>();
  const [warnings, setWarnings] = useState<readonly string[]>([]);

  const exportSluice = async () => {
    try {
      const document = await api.call('config.export', { includeSecrets: secrets });
      download(`sluice-config-${stamp()}.json`, `${JSON.stringify(document, null, 2)}\n`, 'application/json');
      setWarnings([]);
      setNotice({
        ok: true,
        text: `Exported ${document.queues.length} queue(s), ${document.roles.length} role(s), ${document.users.length} user(s)${secrets ? ' with secrets' : ''}.`,
      });
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };
  const exportRabbit = async () => {
    try {
      const { definitions, warnings: found } = await api.call('config.rabbitmq', {});
      download(`rabbitmq-definitions-${stamp()}.json`, `${JSON.stringify(definitions, null, 2)}\n`, 'application/json');
      setWarnings(found);
      setNotice({ ok: true, text: `Exported RabbitMQ definitions with ${found.length} warning(s).` });
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  return (
    <div className="panel">
      <h3>Export</h3>
      <p className="muted">
        Queues, roles, users, bridges and listener settings as one versioned document, for{' '}
        <code>sluice config import</code> on the production broker.
      </p>
      <div className="row">
        <label>
          <input type="checkbox" checked={secrets} onChange={(e) => setSecrets(e.target.checked)} /> Include password
          hashes and bridge credentials
        </label>
        <span className="spacer" />
        <button type="button" onClick={() => void exportSluice()}>
          Export
        </button>
        <button type="button" onClick={() => void exportRabbit()}>
          Export for RabbitMQ
        </button>
      </div>
      <Notice notice={notice} />
      {warnings.length > 0 && (
        <ul aria-label="RabbitMQ warnings" className="muted">
          {warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ImportPanel(): ReactNode {
  const { api } = useBroker();
  const [document, setDocument] = useState<{ name: string; value: Record<string, unknown> }>();
  const [plan, setPlan] = useState<ConfigImportResult>();
  const [notice, setNotice] = useState<NoticeState>();

  const choose = async (file: File | undefined) => {
    setPlan(undefined);
    setDocument(undefined);
    if (!file) return;
    const read = readConfigFile(await file.text());
    if (!read.ok) return setNotice({ ok: false, text: `${file.name} cannot be imported: ${read.problem}` });
    try {
      const preview = await api.call('config.import', { document: read.document, dryRun: true });
      setDocument({ name: file.name, value: read.document });
      setPlan(preview);
      setNotice(undefined);
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };
  const apply = async () => {
    if (!document) return;
    try {
      const result = await api.call('config.import', { document: document.value, dryRun: false });
      setPlan(result);
      setNotice({ ok: true, text: `Imported ${document.name}: ${planSummary(result).replace(/ to /g, ' ')}` });
      setDocument(undefined);
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  return (
    <div className="panel">
      <h3>Import</h3>
      <p className="muted">Pick a document: what it would change is shown first; nothing changes until you apply.</p>
      <div className="row">
        <input
          type="file"
          accept="application/json,.json"
          aria-label="Configuration document"
          onChange={(e) => void choose(e.target.files?.[0])}
        />
        <span className="spacer" />
        <ConfirmButton
          label="Apply import"
          confirm="Apply all changes? (click again)"
          disabled={!document || !plan}
          onConfirm={() => void apply()}
        />
      </div>
      <Notice notice={notice} />
      {plan && (
        <>
          <p role="status" aria-label="Import plan summary">
            {plan.dryRun ? 'Would change: ' : 'Changed: '}
            {planSummary(plan)}
          </p>
          <table className="table" aria-label="Import diff">
            <thead>
              <tr>
                <th />
                <th>Kind</th>
                <th>Name</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              {planRows(plan).map((row) => (
                <tr key={row.key} data-change={row.sign}>
                  <td className="mono">{row.sign}</td>
                  <td>{row.kind}</td>
                  <td className="mono">{row.name}</td>
                  <td>{row.what}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {plan.warnings.map((warning) => (
            <div key={warning} className="notice denied">
              {warning}
            </div>
          ))}
        </>
      )}
    </div>
  );
}

function BackupPanel(): ReactNode {
  const { api } = useBroker();
  const [status, setStatus] = useState<BackupStatus>();
  const [notice, setNotice] = useState<NoticeState>();

  // Poll the running backup's progress; stops once it finished.
  useEffect(() => {
    if (status?.state !== 'running') return;
    const timer = setTimeout(() => {
      api.call('backup.get', { id: status.id }).then(setStatus, (error: unknown) => setNotice(refusalNotice(error)));
    }, 300);
    return () => clearTimeout(timer);
  }, [api, status]);

  const start = async () => {
    try {
      setNotice(undefined);
      setStatus(await api.call('backup.start', {}));
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };
  const save = async () => {
    if (status?.state !== 'completed') return;
    try {
      const bytes = assembleBackup(await api.collect('backup.download', { id: status.id }));
      download(status.file, bytes as BlobPart, 'application/vnd.sqlite3');
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };
  const progress = status && backupProgress(status);

  return (
    <div className="panel">
      <h3>Backup</h3>
      <p className="muted">
        A consistent snapshot of the store while the broker keeps running. Restore it with{' '}
        <code>sluice serve --restore FILE</code> on a new data directory.
      </p>
      <div className="row">
        <button type="button" disabled={status?.state === 'running'} onClick={() => void start()}>
          Back up now
        </button>
        <button type="button" disabled={status?.state !== 'completed'} onClick={() => void save()}>
          Download backup
        </button>
      </div>
      {progress && (
        <>
          <Progress done={progress.done} total={progress.total} label="Backup progress" />
          <p role="status" aria-label="Backup status" className={status.state === 'failed' ? 'notice error' : ''}>
            {progress.text}
          </p>
        </>
      )}
      <Notice notice={notice} />
    </div>
  );
}
