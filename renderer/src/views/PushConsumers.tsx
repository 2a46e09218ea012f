/**
 * A queue's HTTP push consumers (docs/push.md), shown under the queue in the Queues view: each
 * one's state, last answer, in flight, rate and time since the last success (polled once a
 * second: push status is not pushed), and a form to add, change or delete one. Secrets are never
 * shown: an edit that leaves the placeholder keeps the stored one.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useBroker, usePolledOperation } from '../api/hooks.ts';
import { ConfirmButton, ErrorNotice, Notice } from '../components/bits.tsx';
import { count, duration, rate } from '../logic/format.ts';
import { newPushFields, pushFieldsOf, pushInputOf, type PushFields, type WirePushConsumer } from '../logic/push.ts';
import { refusalNotice } from '../logic/session.ts';

const stateTone: Record<WirePushConsumer['status']['state'], string> = {
  delivering: 'ok',
  'backing-off': 'warn',
  'endpoint-down': 'danger',
  stopped: '',
};

export function PushConsumers(props: { queue: string }): ReactNode {
  const listed = usePolledOperation('push.list', { queue: props.queue }, 1000);
  const [editing, setEditing] = useState<string | 'new' | undefined>();
  const consumers = listed.data?.pushConsumers ?? [];
  const current = consumers.find((c) => c.config.name === editing);
  return (
    <div className="panel stack" aria-label={`Push consumers of ${props.queue}`}>
      <div className="row">
        <h3>HTTP push</h3>
        <span className="muted">{consumers.length === 0 ? 'none' : `${consumers.length} endpoint(s)`}</span>
        <span className="spacer" />
        <button type="button" onClick={() => setEditing('new')}>
          Add push consumer
        </button>
      </div>
      <ErrorNotice error={listed.error} />
      {consumers.map(({ config: c, status: s }) => (
        <div key={c.name} className="row" data-push={c.name} style={{ flexWrap: 'wrap', gap: 8 }}>
          <span className={`badge ${stateTone[s.state]}`}>{s.state}</span>
          <button type="button" className="link mono" onClick={() => setEditing(c.name)}>
            {c.name}
          </button>
          <span className="mono muted">
            {c.method} {c.url}
          </span>
          <span className="muted">
            last {s.lastStatusCode ?? '–'} · in flight {s.inFlight} · {rate(s.ratePerSecond)}/s · delivered{' '}
            {count(s.delivered)} · retried {count(s.retried)} · rejected {count(s.rejected)} ·{' '}
            {s.lastSuccessAt === null ? 'no success yet' : `last success ${duration(s.sinceLastSuccessMs)} ago`}
          </span>
          {s.lastError && <span className="muted mono">last error: {s.lastError.message}</span>}
        </div>
      ))}
      {editing !== undefined && (
        <PushEditor
          key={editing}
          queue={props.queue}
          existing={current}
          onDone={() => {
            setEditing(undefined);
            listed.reload();
          }}
        />
      )}
    </div>
  );
}

function PushEditor(props: { queue: string; existing: WirePushConsumer | undefined; onDone: () => void }): ReactNode {
  const { api } = useBroker();
  const existing = props.existing;
  const [fields, setFields] = useState<PushFields>(existing ? pushFieldsOf(existing) : newPushFields);
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const set = <K extends keyof PushFields>(key: K, value: PushFields[K]) => setFields((f) => ({ ...f, [key]: value }));

  const save = (event: FormEvent) => {
    event.preventDefault();
    const parsed = pushInputOf(props.queue, fields);
    if (!parsed.ok) return setNotice({ ok: false, text: parsed.problem });
    api.call('push.put', parsed.input).then(
      () => props.onDone(),
      (error: unknown) => setNotice(refusalNotice(error)),
    );
  };
  const remove = () =>
    api.call('push.delete', { queue: props.queue, name: fields.name }).then(
      () => props.onDone(),
      (error: unknown) => setNotice(refusalNotice(error)),
    );

  const secretLabel = { none: '', basic: 'Password', bearer: 'Token', header: 'Header value' }[fields.authType];
  return (
    <form
      className="stack"
      onSubmit={save}
      aria-label={existing ? `Push consumer ${existing.config.name}` : 'New push consumer'}
    >
      <div className="form">
        <label className="field">
          Name
          <input
            className="mono"
            value={fields.name}
            disabled={!!existing}
            onChange={(e) => set('name', e.target.value)}
            required
          />
        </label>
        <label className="field wide">
          Endpoint URL
          <input className="mono" value={fields.url} onChange={(e) => set('url', e.target.value)} required />
        </label>
        <label className="field">
          Method
          <select value={fields.method} onChange={(e) => set('method', e.target.value as PushFields['method'])}>
            <option>POST</option>
            <option>PUT</option>
          </select>
        </label>
        <label className="field">
          Authentication
          <select value={fields.authType} onChange={(e) => set('authType', e.target.value as PushFields['authType'])}>
            <option value="none">None</option>
            <option value="basic">Basic</option>
            <option value="bearer">Bearer token</option>
            <option value="header">Custom header</option>
          </select>
        </label>
        {(fields.authType === 'basic' || fields.authType === 'header') && (
          <label className="field">
            {fields.authType === 'basic' ? 'User name' : 'Header name'}
            <input className="mono" value={fields.authName} onChange={(e) => set('authName', e.target.value)} />
          </label>
        )}
        {fields.authType !== 'none' && (
          <label className="field">
            {secretLabel} (never shown again)
            <input
              type="password"
              autoComplete="off"
              value={fields.secret}
              onChange={(e) => set('secret', e.target.value)}
            />
          </label>
        )}
        <label className="field wide">
          Static headers (one "Name: value" per line)
          <textarea className="mono" rows={2} value={fields.headers} onChange={(e) => set('headers', e.target.value)} />
        </label>
        <label className="field">
          Concurrency (1 = in order)
          <input value={fields.concurrency} onChange={(e) => set('concurrency', e.target.value)} />
        </label>
        <label className="field">
          Timeout (ms)
          <input value={fields.timeoutMs} onChange={(e) => set('timeoutMs', e.target.value)} />
        </label>
        <label className="field">
          First retry after (ms)
          <input value={fields.initialDelayMs} onChange={(e) => set('initialDelayMs', e.target.value)} />
        </label>
        <label className="field">
          Longest retry delay (ms)
          <input value={fields.maxDelayMs} onChange={(e) => set('maxDelayMs', e.target.value)} />
        </label>
        <label className="field">
          Statuses that reject to the DMQ
          <input value={fields.rejectStatuses} onChange={(e) => set('rejectStatuses', e.target.value)} />
        </label>
        <label className="field wide">
          CA certificate for https (PEM, optional)
          <textarea className="mono" rows={2} value={fields.ca} onChange={(e) => set('ca', e.target.value)} />
        </label>
        <label className="field">
          <span>
            <input type="checkbox" checked={fields.enabled} onChange={(e) => set('enabled', e.target.checked)} />{' '}
            Enabled
          </span>
        </label>
      </div>
      <div className="row">
        <button className="primary" type="submit">
          {existing ? 'Save push consumer' : 'Create push consumer'}
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
        <span className="spacer" />
        {existing && (
          <ConfirmButton
            label="Delete push consumer"
            confirm="Stop pushing and delete it?"
            onConfirm={() => void remove()}
          />
        )}
      </div>
      <Notice notice={notice} />
    </form>
  );
}
