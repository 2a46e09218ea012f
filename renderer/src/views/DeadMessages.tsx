/**
 * Dead messages: filter by queue, reason, topic and time; inspect the original message and why
 * it died; redeliver one, a selection, or everything the filter shows back to the original
 * queue, with progress; purge; export as NDJSON. Keys: Space selects, R redelivers the selection
 * (or the message under the cursor), / focuses the topic filter.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { WireDeadMessage } from '../../../core/api/contract.ts';
import { useBroker, useOperation } from '../api/hooks.ts';
import { ConfirmButton, Details, ErrorNotice, isTyping, Notice, Progress } from '../components/bits.tsx';
import { PayloadView } from '../components/PayloadView.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import {
  batches,
  deadFilterOf,
  deadReasons,
  emptyDeadFilter,
  selectionOf,
  toggled,
  type DeadFilterFields,
} from '../logic/dead-filter.ts';
import { count, time } from '../logic/format.ts';
import { refusalNotice } from '../logic/session.ts';
import { journeyHref } from './routes.ts';

/** Dead messages loaded per page (the contract's page limit is 1000). */
const pageSize = 500;
/** Ids per redeliver call when showing progress. */
const batchSize = 200;

const reasonText: Record<WireDeadMessage['reason'], string> = {
  'max-redelivery': 'Max redelivery',
  'ttl-expired': 'TTL expired',
  overflow: 'Overflow',
  rejected: 'Rejected',
};

export function DeadMessages(): ReactNode {
  const { api, live } = useBroker();
  const [fields, setFields] = useState<DeadFilterFields>(emptyDeadFilter);
  const parsed = deadFilterOf(fields);
  const filter = parsed.ok ? parsed.filter : {};
  const [pages, setPages] = useState(1);
  const list = useOperation(
    'dmq.list',
    parsed.ok ? { ...filter, limit: Math.min(1000, pageSize * pages) } : undefined,
    ['dead'],
  );
  const counts = useOperation('dmq.counts', {}, ['dead']);
  const dead = list.data?.deadMessages ?? [];
  const [active, setActive] = useState(0);
  const [selection, setSelection] = useState<ReadonlySet<string>>(() => new Set());
  const [job, setJob] = useState<{ verb: string; done: number; total: number; failed: number }>();
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const cancelled = useRef(false);
  const topicRef = useRef<HTMLInputElement>(null);
  const current = dead[Math.min(active, dead.length - 1)];
  const queues = useMemo(() => [...new Set((counts.data?.counts ?? []).map((c) => c.queue))].sort(), [counts.data]);
  const set = <K extends keyof DeadFilterFields>(key: K, value: DeadFilterFields[K]) =>
    setFields((f) => ({ ...f, [key]: value }));

  // Selected ids that are gone (redelivered, purged) leave the selection.
  useEffect(() => {
    const present = new Set(dead.map((d) => d.id));
    setSelection((s) =>
      Array.from(s).every((id) => present.has(id)) ? s : new Set([...s].filter((id) => present.has(id))),
    );
  }, [list.data]);

  /** Redelivers ids in batches so a long run shows progress and can be cancelled. */
  const redeliverIds = async (ids: readonly string[]) => {
    cancelled.current = false;
    let done = 0;
    let failed = 0;
    setJob({ verb: 'Redelivering', done, total: ids.length, failed });
    for (const batch of batches(ids, batchSize)) {
      if (cancelled.current) break;
      const result = await api.call('dmq.redeliver', { ids: batch });
      done += batch.length;
      failed += result.failed.length;
      setJob({ verb: 'Redelivering', done, total: ids.length, failed });
    }
    live.touch('dead', 'queues');
    setJob(undefined);
    const stop = cancelled.current ? ' (cancelled)' : '';
    setNotice({
      ok: failed === 0,
      text: `Redelivered ${count(done - failed)} to their original queue${failed > 0 ? `; ${failed} failed` : ''}${stop}.`,
    });
  };

  /** Every id the filter selects (paged through), for a redeliver-all with progress. */
  const allMatchingIds = async (): Promise<string[]> => {
    const ids: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await api.call('dmq.list', { ...filter, limit: 1000, ...(afterId && { afterId }) });
      ids.push(...page.deadMessages.map((d) => d.id));
      if (page.nextAfterId === null) return ids;
      afterId = page.nextAfterId;
    }
  };

  const act = (work: () => Promise<void>) =>
    void work().catch((error: unknown) => {
      setJob(undefined);
      setNotice(refusalNotice(error));
    });

  const redeliverSelected = () =>
    act(() => redeliverIds(selection.size > 0 ? [...selection] : current ? [current.id] : []));

  const exportNdjson = () =>
    act(async () => {
      const lines = await api.collect('dmq.export', filter);
      const blob = new Blob(
        lines.map((line) => `${JSON.stringify(line)}\n`),
        { type: 'application/x-ndjson' },
      );
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `dead-messages-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
      link.click();
      URL.revokeObjectURL(link.href);
      setNotice({ ok: true, text: `Exported ${count(lines.length)} dead messages.` });
    });

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === '/' && !isTyping(event.target)) {
        event.preventDefault();
        topicRef.current?.focus();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <section className="view fill" aria-label="Dead messages">
      <div className="panel row" role="search" aria-label="Filter dead messages" style={{ padding: 12 }}>
        <label className="field">
          Queue
          <select value={fields.queue} onChange={(e) => set('queue', e.target.value)}>
            <option value="">All queues</option>
            {queues.map((q) => (
              <option key={q} value={q}>
                {q}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          Reason
          <select value={fields.reason} onChange={(e) => set('reason', e.target.value as DeadFilterFields['reason'])}>
            <option value="">Any reason</option>
            {deadReasons.map((r) => (
              <option key={r} value={r}>
                {reasonText[r]}
              </option>
            ))}
          </select>
        </label>
        <label className="field" style={{ flex: 1, minWidth: 200 }}>
          Topic filter
          <input
            ref={topicRef}
            className="mono"
            value={fields.topic}
            onChange={(e) => set('topic', e.target.value)}
            placeholder="plant/+/orders   ( / )"
          />
        </label>
        <label className="field">
          Dead from
          <input type="datetime-local" step={1} value={fields.from} onChange={(e) => set('from', e.target.value)} />
        </label>
        <label className="field">
          until
          <input type="datetime-local" step={1} value={fields.until} onChange={(e) => set('until', e.target.value)} />
        </label>
      </div>
      {!parsed.ok && <div className="notice error">{parsed.problem}</div>}
      <ErrorNotice error={list.error} />
      <div className="row">
        <button className="primary" disabled={!!job || (selection.size === 0 && !current)} onClick={redeliverSelected}>
          Redeliver {selection.size > 0 ? `${selection.size} selected` : 'this one'} <kbd>R</kbd>
        </button>
        <button
          disabled={!!job || dead.length === 0}
          onClick={() => act(async () => redeliverIds(await allMatchingIds()))}
        >
          Redeliver all shown by the filter
        </button>
        <button disabled={!!job} onClick={exportNdjson}>
          Export NDJSON
        </button>
        <span className="spacer" />
        <ConfirmButton
          label={selection.size > 0 ? `Purge ${selection.size} selected` : 'Purge all shown'}
          confirm="Delete for good?"
          disabled={!!job || dead.length === 0}
          onConfirm={() =>
            act(async () => {
              const { purged } = await api.call(
                'dmq.purge',
                selection.size > 0 ? { ids: [...selection] } : selectionOf(filter),
              );
              live.touch('dead');
              setNotice({ ok: true, text: `Purged ${count(purged)} dead messages.` });
            })
          }
        />
      </div>
      {job && (
        <div className="panel stack" role="status" aria-live="polite">
          <div className="row">
            <strong>
              {job.verb} {count(job.done)} of {count(job.total)}
            </strong>
            {job.failed > 0 && <span className="badge danger">{job.failed} failed</span>}
            <span className="spacer" />
            <button onClick={() => (cancelled.current = true)}>Cancel</button>
          </div>
          <Progress done={job.done} total={job.total} label="Redelivery progress" />
        </div>
      )}
      {!job && <Notice notice={notice} />}
      <div className="split">
        <div className="stack">
          <div className="vhead" aria-hidden="true">
            <span style={{ width: 22 }} />
            <span style={{ width: 120 }}>Died</span>
            <span style={{ width: 130 }}>Queue</span>
            <span style={{ width: 120 }}>Reason</span>
            <span style={{ flex: 1 }}>Topic</span>
            <span style={{ width: 40, textAlign: 'right' }}>Tries</span>
          </div>
          {dead.length === 0 ? (
            <div className="panel empty">{list.data ? 'No dead messages match.' : 'Loading…'}</div>
          ) : (
            <VirtualList
              label="Dead messages"
              testId="dead-list"
              count={dead.length}
              rowKey={(i) => dead[i]!.id}
              active={Math.min(active, dead.length - 1)}
              onActiveChange={setActive}
              rowClass={(i) => (selection.has(dead[i]!.id) ? 'selected' : '')}
              onKey={(key, i) => {
                if (key === ' ') setSelection((s) => toggled(s, dead[i]!.id));
                else if (key === 'r' || key === 'R') redeliverSelected();
                else return false;
                return true;
              }}
              renderRow={(i) => (
                <DeadRow
                  dead={dead[i]!}
                  selected={selection.has(dead[i]!.id)}
                  onToggle={() => setSelection((s) => toggled(s, dead[i]!.id))}
                />
              )}
            />
          )}
          {list.data?.nextAfterId && pageSize * pages < 1000 && (
            <button onClick={() => setPages((p) => p + 1)}>Load more</button>
          )}
        </div>
        {current ? <DeadDetail dead={current} /> : <div className="panel empty">Select a dead message.</div>}
      </div>
    </section>
  );
}

function DeadRow(props: { dead: WireDeadMessage; selected: boolean; onToggle: () => void }): ReactNode {
  const d = props.dead;
  return (
    <>
      <input
        type="checkbox"
        checked={props.selected}
        onChange={props.onToggle}
        onMouseDown={(e) => e.stopPropagation()}
        aria-label={`Select dead message ${d.id}`}
        tabIndex={-1}
      />
      <span className="mono" style={{ width: 120 }}>
        {time(d.deadAt)}
      </span>
      <span className="cell mono" style={{ width: 130 }}>
        {d.queue}
      </span>
      <span style={{ width: 120 }}>
        <span className="badge danger">{reasonText[d.reason]}</span>
      </span>
      <span className="cell mono" style={{ flex: 1 }} data-dead-topic={d.message.topic}>
        {d.message.topic}
      </span>
      <span className="num" style={{ width: 40 }}>
        {d.deliveryCount}
      </span>
    </>
  );
}

function DeadDetail(props: { dead: WireDeadMessage }): ReactNode {
  const d = props.dead;
  const m = d.message;
  return (
    <div className="stack" style={{ overflow: 'auto' }} data-testid="dead-detail">
      <div className="panel stack">
        <h2 style={{ fontSize: 20 }}>Why it died</h2>
        <Details
          rows={[
            ['Reason', <strong key="r">{reasonText[d.reason]}</strong>],
            ['Error', d.error ?? '–'],
            [
              'Original queue',
              <span key="q" className="mono">
                {d.queue}
              </span>,
            ],
            [
              'Dead message queue',
              <span key="d" className="mono">
                {d.dmq}
              </span>,
            ],
            [
              'Deliveries',
              d.totalDeliveryCount > d.deliveryCount
                ? `${d.deliveryCount} (${d.totalDeliveryCount} in all, across redeliveries from the DMQ)`
                : d.deliveryCount,
            ],
            ['First / last delivery', `${time(d.firstDeliveredAt)} / ${time(d.lastDeliveredAt)}`],
            ['Consumer', d.consumer ?? '–'],
            ['Died at', time(d.deadAt)],
          ]}
        />
      </div>
      <div className="panel stack">
        <h2 style={{ fontSize: 20 }}>Original message</h2>
        <Details
          rows={[
            [
              'Topic',
              <span key="t" className="mono">
                {m.topic}
              </span>,
            ],
            [
              'Message id',
              <span key="id">
                {m.id} · <a href={journeyHref(m.id)}>Show its journey</a>
              </span>,
            ],
            [
              'Published',
              `${time(m.timestamp)}${m.protocol ? ` over ${m.protocol}` : ''}${m.publisher ? ` by ${m.publisher}` : ''}`,
            ],
            ['Content type', m.contentType ?? '–'],
            [
              'Headers',
              Object.keys(m.headers).length === 0
                ? '–'
                : Object.entries(m.headers)
                    .map(([k, v]) => `${k}: ${v}`)
                    .join(' · '),
            ],
          ]}
        />
        <PayloadView payload={m.payload} encoding={m.payloadEncoding} />
      </div>
    </div>
  );
}
