/**
 * Overview: is the broker healthy right now? Big numbers for rates in/out/dead, the rates over
 * the last minutes, alarms, storage and retention horizon, queues by fill.
 */
import type { ReactNode } from 'react';
import { useBroker, useOperation, usePolledOperation, useStats } from '../api/hooks.ts';
import { historyWindowMs } from '../api/live.ts';
import { Meter } from '../components/bits.tsx';
import { RateChart } from '../components/RateChart.tsx';
import { computeAlarms, fillShare } from '../logic/alarms.ts';
import { pushAlarms } from '../logic/push.ts';
import { withLiveState } from '../logic/live-queues.ts';
import { ago, bytes, count, rate, time } from '../logic/format.ts';
import { useBridgeStatus } from './Bridges.tsx';

export function Overview(): ReactNode {
  const { live } = useBroker();
  const data = useStats(); // re-renders on every pushed stats event
  const queues = useOperation('queues.list', {}, ['queues']);
  const listed = withLiveState(queues.data?.queues ?? [], data);
  const bridges = useBridgeStatus(); // polled once a second: bridge status is not pushed
  const push = usePolledOperation('push.status', {}, 1000); // push status is not pushed either
  const alarms = [
    ...computeAlarms(listed, live.deadHistory, bridges.data?.bridges ?? []),
    ...pushAlarms(push.data?.pushConsumers ?? []),
  ].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'danger' ? -1 : 1));
  const byFill = [...listed].sort((a, b) => fillShare(b) - fillShare(a)).slice(0, 8);

  return (
    <section className="view" aria-label="Overview">
      <div className="grid cols-4">
        <Tile tone="in" label="In" value={data ? rate(data.rates.inPerSec) : '–'} unit="msg/s" />
        <Tile tone="out" label="Out" value={data ? rate(data.rates.outPerSec) : '–'} unit="msg/s" />
        <Tile tone="dead" label="Dead" value={data ? rate(data.rates.deadPerSec) : '–'} unit="msg/s" />
        <Tile
          tone={data && data.dead.total > 0 ? 'dead' : ''}
          label="Dead messages"
          value={data ? count(data.dead.total) : '–'}
          unit="held"
          href="#/dead"
        />
      </div>
      <div className="panel">
        <h3>Message rates</h3>
        <RateChart samples={live.rateHistory} windowMs={historyWindowMs} />
      </div>
      <div className="grid cols-2">
        <div className="panel">
          <h3>Alarms</h3>
          {alarms.length === 0 ? (
            <div className="muted" style={{ fontSize: 16 }}>
              No alarms.
            </div>
          ) : (
            <div className="stack" role="list">
              {alarms.map((alarm) => (
                <a
                  key={alarm.key ?? alarm.text}
                  role="listitem"
                  href={`#/${alarm.view}`}
                  className={`alarm ${alarm.severity}`}
                >
                  {alarm.detail === undefined ? (
                    alarm.text
                  ) : (
                    <span className="alarm-lines">
                      <strong>{alarm.text}</strong>
                      <span className="alarm-detail">{alarm.detail}</span>
                    </span>
                  )}
                </a>
              ))}
            </div>
          )}
        </div>
        <div className="panel">
          <h3>Storage and retention</h3>
          {data && (
            <dl className="kv" style={{ fontSize: 16 }}>
              <dt>Database on disk</dt>
              <dd className="num" style={{ textAlign: 'left' }}>
                {bytes(data.storage.databaseBytes)}
              </dd>
              <dt>Message log</dt>
              <dd>{bytes(data.storage.logBytes)}</dd>
              <dt>Replayable since</dt>
              <dd>
                {data.storage.logStartTime === null
                  ? 'log is empty'
                  : `${time(data.storage.logStartTime)} (${ago(data.storage.logStartTime)})`}
              </dd>
              <dt>Published / delivered</dt>
              <dd>
                {count(data.broker.published)} / {count(data.broker.delivered)}
              </dd>
              <dt>Commit time (avg)</dt>
              <dd>{data.broker.commitMsAverage.toFixed(2)} ms</dd>
            </dl>
          )}
        </div>
      </div>
      <div className="panel">
        <h3>Queues by fill</h3>
        {byFill.length === 0 ? (
          <div className="muted">No queues yet. Create one under Queues (3).</div>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>Queue</th>
                <th className="num">Depth</th>
                <th className="num">In flight</th>
                <th className="num">Consumers</th>
                <th className="num">In/s</th>
                <th className="num">Out/s</th>
                <th style={{ width: '22%' }}>Fill</th>
              </tr>
            </thead>
            <tbody>
              {byFill.map((q) => (
                <tr key={q.name}>
                  <td className="mono">{q.name}</td>
                  <td className="num">{count(q.depth)}</td>
                  <td className="num">{count(q.inFlight)}</td>
                  <td className="num">{q.consumers}</td>
                  <td className="num">{rate(q.rates.inPerSec)}</td>
                  <td className="num">{rate(q.rates.outPerSec)}</td>
                  <td>
                    <Meter share={fillShare(q)} label={`${q.name} fill`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

function Tile(props: { tone: string; label: string; value: string; unit: string; href?: string }): ReactNode {
  const body = (
    <>
      <h3>{props.label}</h3>
      <div className="value">
        {props.value}
        <small>{props.unit}</small>
      </div>
    </>
  );
  return (
    <div className={`panel tile ${props.tone}`} data-testid={`tile-${props.label.toLowerCase().replace(/ /g, '-')}`}>
      {props.href ? (
        <a href={props.href} style={{ color: 'inherit', textDecoration: 'none' }}>
          {body}
        </a>
      ) : (
        body
      )}
    </div>
  );
}
