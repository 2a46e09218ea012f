/**
 * Replay: pick a target queue (or a new consumer's queue), a start on the log's timeline
 * (beginning, a time, a message id), an optional end and topic filter; then watch each replay's
 * progress bar and running count, and cancel it.
 */
import { useRef, useState, type FormEvent, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import type { OperationOutput } from '../../../core/api/contract.ts';
import { useBroker, useOperation, useStats } from '../api/hooks.ts';
import { ErrorNotice, Notice, Progress } from '../components/bits.tsx';
import { ago, count, time, toLocalInput } from '../logic/format.ts';
import { emptyReplay, replaySpecOf, timeAtShare, timelineShare, type ReplayFields } from '../logic/replay-form.ts';
import { refusalNotice } from '../logic/session.ts';

type ReplayStatus = OperationOutput<'replay.get'>;

export function Replay(): ReactNode {
  const { api, live } = useBroker();
  const stats = useStats();
  const queues = useOperation('queues.list', {}, ['queues']);
  // Progress moves with every pushed stats event while a replay runs.
  const replays = useOperation('replay.list', {}, ['replays', 'stats']);
  const [fields, setFields] = useState<ReplayFields>(emptyReplay);
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const set = <K extends keyof ReplayFields>(key: K, value: ReplayFields[K]) =>
    setFields((f) => ({ ...f, [key]: value }));
  const names = (queues.data?.queues ?? []).map((q) => q.name);
  const exists = names.includes(fields.queue.trim());

  const start = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = replaySpecOf({ ...fields, create: !exists });
    if (!parsed.ok) return setNotice({ ok: false, text: parsed.problem });
    try {
      const status = await api.call('replay.start', parsed.spec);
      setNotice({
        ok: true,
        text: `Replay ${status.id} started: ${count(status.total)} messages to replay, ${count(status.inRange)} to scan.`,
      });
      live.touch('replays', 'queues');
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  return (
    <section className="view" aria-label="Replay">
      <form className="panel stack" onSubmit={start} aria-label="Start a replay">
        <h2 style={{ fontSize: 20 }}>New replay</h2>
        <div className="form">
          <label className="field">
            Target queue
            <input
              className="mono"
              list="replay-queues"
              value={fields.queue}
              onChange={(e) => set('queue', e.target.value)}
              placeholder="analytics"
            />
            <datalist id="replay-queues">
              {names.map((n) => (
                <option key={n} value={n} />
              ))}
            </datalist>
          </label>
          <label className="field">
            Topic filter (optional)
            <input
              className="mono"
              value={fields.topicFilter}
              onChange={(e) => set('topicFilter', e.target.value)}
              placeholder="plant/#"
            />
          </label>
        </div>
        {fields.queue.trim() !== '' && !exists && (
          <div className="muted">No queue has that name: it is created for the replay (a new consumer’s queue).</div>
        )}
        <Timeline
          logStart={stats?.storage.logStartTime ?? null}
          fields={fields}
          onPick={(at) => setFields((f) => ({ ...f, startKind: 'timestamp', startTime: toLocalInput(at) }))}
        />
        <div className="grid cols-2">
          <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="muted" style={{ fontWeight: 600, fontSize: 13 }}>
              Start
            </legend>
            <div className="row">
              {(['beginning', 'timestamp', 'message-id'] as const).map((kind) => (
                <label key={kind} className="check">
                  <input
                    type="radio"
                    name="start"
                    checked={fields.startKind === kind}
                    onChange={() => set('startKind', kind)}
                  />
                  {kind === 'beginning' ? 'Beginning of the log' : kind === 'timestamp' ? 'A time' : 'A message id'}
                </label>
              ))}
            </div>
            {fields.startKind === 'timestamp' && (
              <input
                type="datetime-local"
                step={1}
                aria-label="Start time"
                value={fields.startTime}
                onChange={(e) => set('startTime', e.target.value)}
              />
            )}
            {fields.startKind === 'message-id' && (
              <input
                aria-label="Start message id"
                value={fields.startId}
                onChange={(e) => set('startId', e.target.value)}
              />
            )}
          </fieldset>
          <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }}>
            <legend className="muted" style={{ fontWeight: 600, fontSize: 13 }}>
              End (optional)
            </legend>
            <div className="row">
              {(['none', 'timestamp', 'message-id'] as const).map((kind) => (
                <label key={kind} className="check">
                  <input
                    type="radio"
                    name="end"
                    checked={fields.endKind === kind}
                    onChange={() => set('endKind', kind)}
                  />
                  {kind === 'none' ? 'The log’s end now' : kind === 'timestamp' ? 'A time' : 'A message id'}
                </label>
              ))}
            </div>
            {fields.endKind === 'timestamp' && (
              <input
                type="datetime-local"
                step={1}
                aria-label="End time"
                value={fields.endTime}
                onChange={(e) => set('endTime', e.target.value)}
              />
            )}
            {fields.endKind === 'message-id' && (
              <input aria-label="End message id" value={fields.endId} onChange={(e) => set('endId', e.target.value)} />
            )}
          </fieldset>
        </div>
        <div className="row">
          <button className="primary" type="submit">
            Start replay
          </button>
          <span className="muted" style={{ fontSize: 13 }}>
            Replayed copies carry the header sluice-replayed: true and keep their original id and time.
          </span>
        </div>
        <Notice notice={notice} />
      </form>
      <div className="panel stack">
        <h3>Replays</h3>
        <ErrorNotice error={replays.error} />
        {(replays.data?.replays ?? []).length === 0 ? (
          <div className="muted">No replays yet.</div>
        ) : (
          (replays.data?.replays ?? []).map((r) => <ReplayRow key={r.id} replay={r} />)
        )}
      </div>
    </section>
  );
}

/** The replayable log as a bar from its oldest message to now; a click (or ←/→) picks a start time. */
function Timeline(props: { logStart: number | null; fields: ReplayFields; onPick: (at: number) => void }): ReactNode {
  const ref = useRef<HTMLDivElement>(null);
  const now = Date.now();
  if (props.logStart === null) return <div className="muted">The log is empty: nothing to replay yet.</div>;
  const from = props.logStart;
  const startAt = props.fields.startKind === 'timestamp' ? new Date(props.fields.startTime).getTime() : from;
  const share = Number.isFinite(startAt) ? timelineShare(startAt, from, now) : 0;
  const pick = (event: MouseEvent) => {
    const box = ref.current!.getBoundingClientRect();
    props.onPick(timeAtShare((event.clientX - box.left) / box.width, from, now));
  };
  const onKey = (event: KeyboardEvent) => {
    const step = (now - from) / 20;
    if (event.key === 'ArrowLeft') props.onPick(Math.max(from, startAt - step));
    else if (event.key === 'ArrowRight') props.onPick(Math.min(now, startAt + step));
    else return;
    event.preventDefault();
  };
  return (
    <div className="stack" style={{ gap: 4 }}>
      <div
        ref={ref}
        className="timeline"
        role="slider"
        tabIndex={0}
        aria-label="Replay start on the log's timeline"
        aria-valuemin={from}
        aria-valuemax={now}
        aria-valuenow={startAt}
        aria-valuetext={time(startAt)}
        onClick={pick}
        onKeyDown={onKey}
      >
        <div className="timeline-replayed" style={{ left: `${share * 100}%` }} />
        <div className="timeline-marker" style={{ left: `${share * 100}%` }} />
      </div>
      <div className="row muted" style={{ fontSize: 13 }}>
        <span>
          Log starts {time(from)} ({ago(from, now)})
        </span>
        <span className="spacer" />
        <span>now</span>
      </div>
    </div>
  );
}

function ReplayRow(props: { replay: ReplayStatus }): ReactNode {
  const { api, live } = useBroker();
  const r = props.replay;
  const stateTone =
    r.state === 'completed' ? 'ok' : r.state === 'running' ? 'warn' : r.state === 'failed' ? 'danger' : '';
  return (
    <div
      className="stack"
      style={{ gap: 6, paddingBottom: 12, borderBottom: '1px solid var(--border)' }}
      data-replay={r.id}
    >
      <div className="row">
        <strong>Replay {r.id}</strong>
        <span className="mono">→ {r.spec.target.queue}</span>
        <span className={`badge ${stateTone}`} data-testid="replay-state">
          {r.state}
          {r.waiting && ' (waiting for the log)'}
        </span>
        <span className="spacer" />
        <span className="num" data-testid="replay-count" style={{ fontSize: 18 }}>
          {count(r.replayed)} replayed of {count(r.total)} · {count(r.scanned)} / {count(r.inRange)} scanned
        </span>
        {r.state === 'running' && (
          <button
            onClick={() => void api.call('replay.cancel', { id: r.id }).then(() => live.touch('replays'))}
            aria-label={`Cancel replay ${r.id}`}
          >
            Cancel
          </button>
        )}
      </div>
      <Progress done={r.scanned} total={Math.max(1, r.inRange)} label={`Replay ${r.id} progress`} />
      <div className="muted" style={{ fontSize: 13 }}>
        From{' '}
        {r.spec.start.kind === 'timestamp'
          ? time(r.spec.start.at)
          : r.spec.start.kind === 'message-id'
            ? `message ${r.spec.start.id}`
            : 'the beginning'}
        {r.spec.topicFilter && ` · topics ${r.spec.topicFilter}`} · started {time(r.createdAt)}
        {r.finishedAt !== null && ` · finished ${time(r.finishedAt)}`}
        {r.error && ` · ${r.error}`}
      </div>
    </div>
  );
}
