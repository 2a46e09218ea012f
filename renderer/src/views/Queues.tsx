/**
 * Queues: every queue with depth, in-flight, consumers, rates and fill (live); the selected
 * queue's configuration to edit, its messages to browse; a form to create one (key N).
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { OperationOutput, WireQueueInfo } from '../../../core/api/contract.ts';
import { useBroker, useOperation, useStats } from '../api/hooks.ts';
import { ConfirmButton, ErrorNotice, isTyping, Meter, Notice } from '../components/bits.tsx';
import { PayloadView } from '../components/PayloadView.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { fillShare } from '../logic/alarms.ts';
import { bytes, count, rate, time } from '../logic/format.ts';
import { withLiveState } from '../logic/live-queues.ts';
import { previewPayload } from '../logic/payload.ts';
import { configOf, fieldsOf, newQueueFields, updateOf, type QueueFields } from '../logic/queue-form.ts';
import { refusalNotice } from '../logic/session.ts';
import { PushConsumers } from './PushConsumers.tsx';
import { journeyHref, queueFromHash } from './routes.ts';

export function Queues(): ReactNode {
  const listed = useOperation('queues.list', {}, ['queues']);
  const stats = useStats();
  const queues = withLiveState(listed.data?.queues ?? [], stats);
  const [active, setActive] = useState(0);
  const [mode, setMode] = useState<'view' | 'create'>('view');
  // A link may name the queue to show (`#/queues?queue=bridge%2Fplant`, from the Bridges view).
  const [selected, setSelected] = useState<string | undefined>(() => queueFromHash(location.hash));
  const current = queues.find((q) => q.name === selected) ?? (mode === 'view' ? queues[active] : undefined);
  const linkedIndex = selected === undefined ? -1 : queues.findIndex((q) => q.name === selected);
  useEffect(() => {
    if (linkedIndex >= 0) setActive(linkedIndex); // keep the list's cursor on the linked queue
  }, [linkedIndex]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.key === 'n' || event.key === 'N') && !isTyping(event.target)) {
        event.preventDefault();
        setMode('create');
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <section className="view fill" aria-label="Queues">
      <div className="row">
        <button className="primary" onClick={() => setMode('create')}>
          New queue <kbd>N</kbd>
        </button>
        <span className="muted">{count(queues.length)} queues</span>
      </div>
      <ErrorNotice error={listed.error} />
      <div className="split">
        <div className="stack">
          <div className="vhead" aria-hidden="true">
            <span style={{ flex: 1 }}>Queue</span>
            <span style={{ width: 80, textAlign: 'right' }}>Depth</span>
            <span style={{ width: 70, textAlign: 'right' }}>Flight</span>
            <span style={{ width: 50, textAlign: 'right' }}>Cons.</span>
            <span style={{ width: 60, textAlign: 'right' }}>In/s</span>
            <span style={{ width: 60, textAlign: 'right' }}>Out/s</span>
            <span style={{ width: 80 }}>Fill</span>
          </div>
          {queues.length === 0 ? (
            <div className="panel empty">No queues yet. Press N to create one.</div>
          ) : (
            <VirtualList
              label="Queues"
              testId="queue-list"
              count={queues.length}
              rowKey={(i) => queues[i]!.name}
              active={Math.min(active, queues.length - 1)}
              onActiveChange={(i) => {
                setActive(i);
                setSelected(queues[i]?.name);
                setMode('view');
              }}
              renderRow={(i) => <QueueRow queue={queues[i]!} />}
            />
          )}
        </div>
        <div className="stack" style={{ overflow: 'auto' }}>
          {mode === 'create' ? (
            <QueueEditor
              key="new"
              onDone={(name) => {
                setMode('view');
                setSelected(name);
                listed.reload();
              }}
            />
          ) : current ? (
            <>
              <QueueEditor key={current.name} queue={current} onDone={() => listed.reload()} />
              <PushConsumers key={`push-${current.name}`} queue={current.name} />
              <QueueBrowser key={`browse-${current.name}`} queue={current} />
            </>
          ) : (
            <div className="panel empty">Select a queue.</div>
          )}
        </div>
      </div>
    </section>
  );
}

function QueueRow(props: { queue: WireQueueInfo }): ReactNode {
  const q = props.queue;
  return (
    <>
      <span className="cell mono" style={{ flex: 1 }} data-queue={q.name}>
        {q.name}
      </span>
      <span className="num" style={{ width: 80 }}>
        {count(q.depth)}
      </span>
      <span className="num" style={{ width: 70 }}>
        {count(q.inFlight)}
      </span>
      <span className="num" style={{ width: 50 }}>
        {q.consumers}
      </span>
      <span className="num" style={{ width: 60 }}>
        {rate(q.rates.inPerSec)}
      </span>
      <span className="num" style={{ width: 60 }}>
        {rate(q.rates.outPerSec)}
      </span>
      <span style={{ width: 80 }}>
        <Meter share={fillShare(q)} label={`${q.name} fill`} />
      </span>
    </>
  );
}

/** Create (no queue) or edit (a queue) form, with purge and delete for an existing queue. */
function QueueEditor(props: { queue?: WireQueueInfo; onDone: (name: string) => void }): ReactNode {
  const { api, live } = useBroker();
  const existing = props.queue;
  const [fields, setFields] = useState<QueueFields>(existing ? fieldsOf(existing) : newQueueFields);
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const set = <K extends keyof QueueFields>(key: K, value: QueueFields[K]) =>
    setFields((f) => ({ ...f, [key]: value }));

  const run = async (action: () => Promise<string>) => {
    try {
      setNotice({ ok: true, text: await action() });
      live.touch('queues');
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  const save = (event: FormEvent) => {
    event.preventDefault();
    const parsed = configOf(fields);
    if (!parsed.ok) return setNotice({ ok: false, text: parsed.problem });
    void run(async () => {
      if (!existing) {
        const created = await api.call('queues.create', { name: fields.name.trim(), ...parsed.config });
        props.onDone(created.name);
        return `Queue ${created.name} created.`;
      }
      await api.call('queues.update', updateOf(existing.name, existing.config, parsed.config));
      props.onDone(existing.name);
      return 'Saved.';
    });
  };

  return (
    <form className="panel stack" onSubmit={save} aria-label={existing ? `Queue ${existing.name}` : 'New queue'}>
      <div className="row">
        <h2 className={existing ? 'mono' : undefined} style={{ fontSize: 20 }}>
          {existing ? existing.name : 'New queue'}
        </h2>
        <span className="spacer" />
        {existing && (
          <span className="muted">
            {count(existing.depth)} messages · {bytes(existing.bytes)} · {count(existing.counters.deadLettered)} dead
          </span>
        )}
      </div>
      <div className="form">
        {!existing && (
          <label className="field wide">
            Name
            <input
              className="mono"
              value={fields.name}
              onChange={(e) => set('name', e.target.value)}
              placeholder="orders"
              required
              autoFocus
            />
          </label>
        )}
        <label className="field wide">
          Subscriptions (topic filters, one per line; + and # wildcards)
          <textarea
            className="mono"
            rows={3}
            value={fields.subscriptions}
            onChange={(e) => set('subscriptions', e.target.value)}
            placeholder="plant/+/orders"
          />
        </label>
        <label className="field">
          Max depth (messages)
          <input value={fields.maxDepthMessages} onChange={(e) => set('maxDepthMessages', e.target.value)} />
        </label>
        <label className="field">
          Max depth (MiB)
          <input value={fields.maxDepthMiB} onChange={(e) => set('maxDepthMiB', e.target.value)} />
        </label>
        <label className="field">
          When full
          <select value={fields.overflow} onChange={(e) => set('overflow', e.target.value as QueueFields['overflow'])}>
            <option value="reject-publisher">Reject the publisher</option>
            <option value="drop-oldest">Drop the oldest</option>
            <option value="dead-letter">Dead-letter the new one</option>
          </select>
        </label>
        <label className="field">
          Max redelivery
          <input value={fields.maxRedelivery} onChange={(e) => set('maxRedelivery', e.target.value)} />
        </label>
        <label className="field">
          Default TTL (seconds)
          <input
            value={fields.defaultTtlSeconds}
            onChange={(e) => set('defaultTtlSeconds', e.target.value)}
            placeholder="none"
          />
        </label>
        <label className="field">
          Dead message queue
          <input
            className="mono"
            value={fields.deadMessageQueue}
            onChange={(e) => set('deadMessageQueue', e.target.value)}
          />
        </label>
        <label className="field">
          Consumers
          <select
            value={fields.accessType}
            onChange={(e) => set('accessType', e.target.value as QueueFields['accessType'])}
          >
            <option value="non-exclusive">Shared (round robin)</option>
            <option value="exclusive">Exclusive (one active)</option>
          </select>
        </label>
      </div>
      <div className="row">
        <button className="primary" type="submit">
          {existing ? 'Save changes' : 'Create queue'}
        </button>
        <span className="spacer" />
        {existing && (
          <>
            <ConfirmButton
              label="Purge messages"
              confirm={`Purge ${count(existing.depth - existing.inFlight)} ready messages?`}
              onConfirm={() =>
                void run(async () => `Purged ${(await api.call('queues.purge', { name: existing.name })).purged}.`)
              }
            />
            <ConfirmButton
              label="Delete queue"
              confirm={existing.consumers > 0 ? 'Consumers attached: delete anyway?' : 'Delete it and its messages?'}
              onConfirm={() =>
                void run(async () => {
                  await api.call('queues.delete', { name: existing.name, force: existing.consumers > 0 });
                  props.onDone('');
                  return `Queue ${existing.name} deleted.`;
                })
              }
            />
          </>
        )}
      </div>
      <Notice notice={notice} />
    </form>
  );
}

type BrowsedMessage = OperationOutput<'queues.browse'>['messages'][number];

/** The queue's messages in delivery order, a page at a time; reloads as the queue changes. */
function QueueBrowser(props: { queue: WireQueueInfo }): ReactNode {
  const page = useOperation('queues.browse', { name: props.queue.name, limit: 200 }, ['queues']);
  const [active, setActive] = useState(0);
  const messages = page.data?.messages ?? [];
  const current: BrowsedMessage | undefined = messages[Math.min(active, messages.length - 1)];
  return (
    <div className="panel stack" style={{ minHeight: 360 }}>
      <h3>Messages {messages.length > 0 && <span className="muted">(first {count(messages.length)})</span>}</h3>
      <ErrorNotice error={page.error} />
      {messages.length === 0 ? (
        <div className="muted">The queue is empty.</div>
      ) : (
        <>
          <div style={{ height: 220, display: 'flex' }}>
            <VirtualList
              label={`Messages in ${props.queue.name}`}
              count={messages.length}
              rowKey={(i) => messages[i]!.entryId}
              active={Math.min(active, messages.length - 1)}
              onActiveChange={setActive}
              renderRow={(i) => {
                const m = messages[i]!;
                return (
                  <>
                    <span className={`badge ${m.state === 'in-flight' ? 'warn' : ''}`}>{m.state}</span>
                    <span className="mono" style={{ width: 110 }}>
                      {time(m.message.timestamp)}
                    </span>
                    <span className="cell mono" style={{ width: 200 }}>
                      {m.message.topic}
                    </span>
                    <span className="cell mono muted" style={{ flex: 1 }}>
                      {previewPayload(m.message.payload, m.message.payloadEncoding, 80)}
                    </span>
                  </>
                );
              }}
            />
          </div>
          {current && (
            <>
              <div className="muted">
                Entry {current.entryId} · message {current.message.id} (
                <a href={journeyHref(current.message.id)}>journey</a>) · delivered {current.deliveryCount}×
                {current.replayed && ' · replayed'}
                {current.expiresAt !== null && ` · expires ${time(current.expiresAt)}`}
              </div>
              <PayloadView payload={current.message.payload} encoding={current.message.payloadEncoding} />
            </>
          )}
        </>
      )}
    </div>
  );
}
