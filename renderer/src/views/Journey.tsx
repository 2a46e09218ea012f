/**
 * Message journey (docs/journey.md): one message from publish to its end — routing, each
 * delivery with consumer and protocol, each outcome, the DMQ, redelivery and replay copies.
 * Reached from the Dead messages, Queues (browse) and Topics views, or by typing an id.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useOperation } from '../api/hooks.ts';
import { Details, ErrorNotice } from '../components/bits.tsx';
import { bytes, time } from '../logic/format.ts';
import { stepFacts, stepTitle, stepTone, type WireJourney } from '../logic/journey.ts';
import { journeyHref, journeyIdFromHash, queueHref } from './routes.ts';

export function Journey(): ReactNode {
  const [id, setId] = useState(() => journeyIdFromHash(location.hash));
  const [typed, setTyped] = useState(id ?? '');
  useEffect(() => {
    const onHash = () => {
      const next = journeyIdFromHash(location.hash);
      setId(next);
      if (next !== undefined) setTyped(next);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const valid = id !== undefined && /^[1-9]\d{0,15}$/.test(id);
  const journey = useOperation('messages.journey', valid ? { id } : undefined, ['queues', 'dead']);

  const trace = (event: FormEvent) => {
    event.preventDefault();
    location.hash = journeyHref(typed.trim());
  };

  return (
    <section className="view" aria-label="Message journey">
      <form className="panel row" role="search" aria-label="Trace a message" onSubmit={trace} style={{ padding: 12 }}>
        <label className="field">
          Message id
          <input className="mono" value={typed} onChange={(e) => setTyped(e.target.value)} inputMode="numeric" />
        </label>
        <button className="primary" type="submit" disabled={typed.trim() === ''}>
          Trace
        </button>
      </form>
      {id !== undefined && !valid && <div className="notice error">"{id}" is not a message id.</div>}
      {valid && <ErrorNotice error={journey.error} />}
      {valid && !journey.data && !journey.error && <div className="panel empty">Loading…</div>}
      {valid && journey.data && !journey.error && <JourneyDetail journey={journey.data} />}
      {id === undefined && (
        <div className="panel empty">
          Type a message id, or follow a “Journey” link from a queue, a topic or a dead message.
        </div>
      )}
    </section>
  );
}

function JourneyDetail(props: { journey: WireJourney }): ReactNode {
  const { message: m, steps, now } = props.journey;
  const where = [
    ...now.entries.map((e) => (
      <a key={`e${e.queue}/${e.entryId}`} href={queueHref(e.queue)}>
        {e.queue} ({e.state}
        {e.replayed ? ', replayed copy' : ''})
      </a>
    )),
    ...now.dead.map((d) => (
      <a key={`d${d.id}`} href="#/dead">
        {d.dmq} (dead message {d.id}, {d.reason})
      </a>
    )),
  ];
  return (
    <div className="stack">
      <div className="panel stack">
        <h2 className="mono" style={{ fontSize: 20, overflowWrap: 'anywhere' }}>
          {m.topic}
        </h2>
        <Details
          rows={[
            ['Message id', m.id],
            [
              'Published',
              `${time(m.timestamp)}${m.protocol ? ` over ${m.protocol}` : ''}${m.publisher ? ` by ${m.publisher}` : ''}`,
            ],
            ['Size', bytes(m.size)],
            [
              'Now',
              where.length === 0 ? (
                'In no queue: its journey is over'
              ) : (
                <span key="now" className="row" style={{ gap: 12 }}>
                  {where}
                </span>
              ),
            ],
            ...(m.inLog ? [] : [['Log', 'Pruned by retention; a dead copy keeps it'] as const]),
          ]}
        />
        {!props.journey.recording && (
          <div className="notice">
            Journey recording is off on this broker: only the publish and the queues it is in now show.
          </div>
        )}
      </div>
      <div className="panel">
        <h3>Steps</h3>
        <ol className="journey" aria-label="Journey steps" data-testid="journey-steps">
          {steps.map((step, i) => (
            <li key={i} data-step={step.kind}>
              <span className="mono muted">{time(step.at)}</span>
              <span className={`badge ${stepTone(step.kind)}`}>{stepTitle(step)}</span>
              <span>{stepFacts(step)}</span>
              {step.error !== null && <span className="journey-error">“{step.error}”</span>}
              {step.kind === 'dead-lettered' && now.dead.some((d) => d.id === step.deadMessageId) && (
                <a href="#/dead">In the DMQ now</a>
              )}
            </li>
          ))}
        </ol>
      </div>
    </div>
  );
}
