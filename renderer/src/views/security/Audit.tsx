/** Security › Audit log: filter, virtualised list, details, export NDJSON (docs/security.md). */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { OperationInput, OperationOutput } from '../../../../core/api/contract.ts';
import { useBroker } from '../../api/hooks.ts';
import { Details, ErrorNotice, Notice } from '../../components/bits.tsx';
import { VirtualList } from '../../components/VirtualList.tsx';
import { count, time } from '../../logic/format.ts';
import { useAction } from './shared.tsx';

type AuditRecord = OperationOutput<'audit.list'>['records'][number];
type AuditFilter = OperationInput<'audit.export'>;

/** Most records the view loads (10 pages); the export has them all. */
const auditMax = 10_000;

const sinceChoices: ReadonlyArray<readonly [string, number | undefined]> = [
  ['Any time', undefined],
  ['Last hour', 60 * 60_000],
  ['Last 24 hours', 24 * 60 * 60_000],
  ['Last 7 days', 7 * 24 * 60 * 60_000],
];

/** The Audit tab: filters, the newest records virtualised, the active one in detail, NDJSON export. */
export function Audit(): ReactNode {
  const { api } = useBroker();
  const [user, setUser] = useState('');
  const [operation, setOperation] = useState('');
  const [result, setResult] = useState<'' | 'ok' | 'refused' | 'failed'>('');
  const [since, setSince] = useState(0);
  const [records, setRecords] = useState<AuditRecord[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<Error>();
  const [generation, setGeneration] = useState(0);
  const [active, setActive] = useState(0);
  const [notice, run] = useAction();

  const filter = useMemo<AuditFilter>(() => {
    const sinceMs = sinceChoices[since]?.[1];
    return {
      ...(user.trim() && { user: user.trim() }),
      ...(operation.trim() && { operation: operation.trim() }),
      ...(result && { result }),
      ...(sinceMs !== undefined && { from: Date.now() - sinceMs }),
    };
    // `generation` makes "Refresh" recompute the time window.
  }, [user, operation, result, since, generation]);

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const loaded: AuditRecord[] = [];
        let afterId: string | undefined;
        let next: string | null = null;
        do {
          const page = await api.call('audit.list', { ...filter, limit: 1000, ...(afterId && { afterId }) });
          loaded.push(...page.records);
          next = page.nextAfterId;
          afterId = next ?? undefined;
        } while (next !== null && loaded.length < auditMax && !cancelled);
        if (cancelled) return;
        setRecords(loaded.reverse()); // newest first
        setMore(next !== null);
        setError(undefined);
      } catch (failure) {
        if (!cancelled) setError(failure as Error);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [api, filter]);

  const exportNdjson = () =>
    void run(async () => {
      const lines = await api.collect('audit.export', filter);
      const blob = new Blob(
        lines.map((line) => `${JSON.stringify(line)}\n`),
        { type: 'application/x-ndjson' },
      );
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
      link.click();
      URL.revokeObjectURL(link.href);
      return `Exported ${count(lines.length)} audit records.`;
    });

  const current = records[Math.min(active, records.length - 1)];
  return (
    <>
      <div className="row" role="search" aria-label="Audit filter">
        <input aria-label="User" placeholder="user" value={user} onChange={(e) => setUser(e.target.value)} />
        <input
          aria-label="Operation"
          placeholder="operation (users.create, login…)"
          value={operation}
          onChange={(e) => setOperation(e.target.value)}
          style={{ width: 280 }}
        />
        <select aria-label="Result" value={result} onChange={(e) => setResult(e.target.value as typeof result)}>
          <option value="">Any result</option>
          <option value="ok">ok</option>
          <option value="refused">refused</option>
          <option value="failed">failed</option>
        </select>
        <select aria-label="Since" value={since} onChange={(e) => setSince(Number(e.target.value))}>
          {sinceChoices.map(([label], i) => (
            <option key={label} value={i}>
              {label}
            </option>
          ))}
        </select>
        <button onClick={() => setGeneration((n) => n + 1)}>Refresh</button>
        <span className="muted">
          {count(records.length)} records{more && ` (newest ${count(auditMax)}; export has all)`}
        </span>
        <span className="spacer" />
        <button onClick={exportNdjson}>Export NDJSON</button>
      </div>
      <ErrorNotice error={error} />
      <Notice notice={notice} />
      <div className="vhead" aria-hidden="true">
        <span style={{ width: 110 }}>Time</span>
        <span style={{ width: 120 }}>User</span>
        <span style={{ width: 70 }}>Via</span>
        <span style={{ width: 200 }}>Operation</span>
        <span style={{ flex: 1 }}>Resource</span>
        <span style={{ width: 80 }}>Result</span>
      </div>
      {records.length === 0 ? (
        <div className="panel empty">{error ? 'The audit log could not be read.' : 'No audit records match.'}</div>
      ) : (
        <VirtualList
          label="Audit log"
          testId="audit-list"
          count={records.length}
          rowKey={(i) => records[i]!.id}
          active={Math.min(active, records.length - 1)}
          onActiveChange={setActive}
          renderRow={(i) => <AuditRow record={records[i]!} />}
        />
      )}
      {current && (
        <div className="panel">
          <Details
            rows={[
              ['When', new Date(current.at).toLocaleString()],
              [
                'Who',
                `${current.user ?? 'anonymous'} via ${current.protocol}${current.address ? ` from ${current.address}` : ''}`,
              ],
              ['What', `${current.operation} on ${current.resource}`],
              ['Result', `${current.result}${current.code ? ` (${current.code})` : ''}`],
              ['Detail', current.detail ?? '—'],
            ]}
          />
        </div>
      )}
    </>
  );
}

function AuditRow(props: { record: AuditRecord }): ReactNode {
  const r = props.record;
  return (
    <>
      <span className="mono" style={{ width: 110 }}>
        {time(r.at)}
      </span>
      <span className="cell mono" style={{ width: 120 }}>
        {r.user ?? '—'}
      </span>
      <span className="muted" style={{ width: 70 }}>
        {r.protocol}
      </span>
      <span className="cell mono" style={{ width: 200 }}>
        {r.operation}
      </span>
      <span className="cell mono" style={{ flex: 1 }}>
        {r.resource}
      </span>
      <span className={`result-${r.result}`} style={{ width: 80 }}>
        {r.result}
      </span>
    </>
  );
}
