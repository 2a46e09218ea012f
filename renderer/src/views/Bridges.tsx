/**
 * Bridges: one card per configured bridge with its connection state, direction and upstream, the
 * backlog against its limit, forward/receive rates, counters, last error and time since the last
 * success, and a link to its `bridge/<name>` backlog queue. `bridges.status` is not pushed, so it
 * is polled once a second while the view is visible.
 */
import type { ReactNode } from 'react';
import { usePolledOperation } from '../api/hooks.ts';
import { ErrorNotice, Meter } from '../components/bits.tsx';
import {
  backlogShare,
  bridgeAlarmHeadline,
  bridgeAlarmSeverity,
  lastSuccessText,
  stateBadge,
  type WireBridge,
} from '../logic/bridges.ts';
import { bytes, count, duration, rate, time } from '../logic/format.ts';
import { KafkaBridgeForm } from './KafkaBridgeForm.tsx';
import { queueHref } from './routes.ts';
import './bridges.css';

/** The bridges' status, reloaded once a second while the page is visible. */
export function useBridgeStatus(): ReturnType<typeof usePolledOperation<'bridges.status'>> {
  return usePolledOperation('bridges.status', {}, 1000);
}

const directions: Record<WireBridge['direction'], string> = {
  out: 'Out → upstream',
  in: 'In ← upstream',
  both: 'Both ⇄ upstream',
};

export function Bridges(): ReactNode {
  const { data, error } = useBridgeStatus();
  const bridges = data?.bridges ?? [];
  const connected = bridges.filter((b) => b.connected).length;
  return (
    <section className="view" aria-label="Bridges">
      {data && bridges.length > 0 && (
        <div className="row bridge-summary">
          <span className={`badge ${connected === bridges.length ? 'ok' : 'danger'}`}>
            <span className="dot" />
            {connected} of {bridges.length} connected
          </span>
          <span className="muted">Refreshed once a second.</span>
        </div>
      )}
      <ErrorNotice error={error} />
      {data && bridges.length === 0 && <NoBridges />}
      {bridges.map((bridge) => (
        <BridgeCard key={bridge.name} bridge={bridge} />
      ))}
      <KafkaBridgeForm />
    </section>
  );
}

function BridgeCard({ bridge }: { bridge: WireBridge }): ReactNode {
  const badge = stateBadge(bridge);
  const share = backlogShare(bridge);
  const now = Date.now();
  return (
    <article className="panel bridge-card" aria-label={`Bridge ${bridge.name}`} data-bridge={bridge.name}>
      <header className="bridge-head">
        <h2>{bridge.name}</h2>
        <span className={`badge big ${badge.tone}`} data-testid="bridge-state">
          <span className="dot" />
          {badge.text}
        </span>
        <span className="chip">{directions[bridge.direction]}</span>
        <span className="chip">{bridge.protocol.toUpperCase()}</span>
        <span className="mono bridge-upstream" title="Upstream (credentials not shown)">
          {bridge.upstream}
        </span>
        <span className="spacer" />
        {bridge.queue && (
          <a className="button" href={queueHref(bridge.queue)}>
            Queue {bridge.queue} →
          </a>
        )}
      </header>

      {bridge.alarms.length > 0 && (
        <div className="bridge-alarms" role="list" aria-label={`Alarms of ${bridge.name}`}>
          {bridge.alarms.map((alarm) => (
            <div key={alarm} role="listitem" className={`alarm ${bridgeAlarmSeverity[alarm]}`}>
              {bridgeAlarmHeadline(bridge, alarm, now)}
            </div>
          ))}
        </div>
      )}

      <div className="bridge-body">
        <div className="bridge-block">
          <h3>Backlog</h3>
          <div className="bridge-big" data-testid="bridge-backlog">
            {count(bridge.backlog)}
            <small>
              {bridge.backlogLimitMessages === null ? 'messages' : `of ${count(bridge.backlogLimitMessages)}`}
            </small>
          </div>
          {bridge.queue ? (
            <>
              <Meter share={share} label={`${bridge.name} backlog fill`} />
              <div className="muted">
                {Math.round(share * 100)}% full · {bytes(bridge.backlogBytes)}
                {bridge.backlogLimitBytes !== null && ` of ${bytes(bridge.backlogLimitBytes)}`} ·{' '}
                {count(bridge.inFlight)} in flight
                {bridge.overflow && ` · ${bridge.overflow} when full`}
              </div>
            </>
          ) : (
            <div className="muted">Inbound only: no backlog queue.</div>
          )}
        </div>
        <div className="bridge-block">
          <h3>Rates</h3>
          <div className="bridge-rates">
            <div>
              <div className="bridge-big out">
                {rate(bridge.forwardRatePerSecond)}
                <small>msg/s</small>
              </div>
              <div className="muted">forwarded ↑</div>
            </div>
            <div>
              <div className="bridge-big in">
                {rate(bridge.receiveRatePerSecond)}
                <small>msg/s</small>
              </div>
              <div className="muted">received ↓</div>
            </div>
          </div>
        </div>
        <div className="bridge-block">
          <h3>Counters since start</h3>
          <dl className="bridge-counters">
            <Counter label="Forwarded" value={bridge.forwarded} />
            <Counter label="Received" value={bridge.received} />
            <Counter label="Resent" value={bridge.resent} tone={bridge.resent > 0 ? 'warn' : ''} />
            <Counter label="Refused" value={bridge.refused} tone={bridge.refused > 0 ? 'danger' : ''} />
            <Counter label="Loops prevented" value={bridge.loopsPrevented} />
          </dl>
        </div>
      </div>

      <footer className="bridge-foot">
        <div data-testid="bridge-last-success">
          <strong>{lastSuccessText(bridge)}</strong>
          {bridge.connected && bridge.connectedSince !== null && (
            <span className="muted"> · connected for {duration(now - bridge.connectedSince)}</span>
          )}
          {!bridge.connected && bridge.nextAttemptAt !== null && (
            <span className="muted"> · next attempt in {duration(Math.max(0, bridge.nextAttemptAt - now))}</span>
          )}
          <span className="muted">
            {' '}
            · {count(bridge.connects)} connects, {count(bridge.connectFailures)} failed
          </span>
        </div>
        <div className={bridge.lastError ? 'bridge-error' : 'muted'} data-testid="bridge-last-error">
          {bridge.lastError ? (
            <>
              Last error <span className="muted">({time(bridge.lastError.at)})</span>: {bridge.lastError.message}
            </>
          ) : (
            'No error.'
          )}
        </div>
      </footer>
    </article>
  );
}

function Counter(props: { label: string; value: number; tone?: string }): ReactNode {
  return (
    <div className={props.tone ? `tone-${props.tone}` : undefined}>
      <dt>{props.label}</dt>
      <dd>{count(props.value)}</dd>
    </div>
  );
}

function NoBridges(): ReactNode {
  return (
    <div className="panel bridge-empty">
      <h2>No bridge is configured</h2>
      <p>
        A bridge carries messages between Sluice and an upstream MQTT or AMQP 1.0 broker or a Kafka cluster, keeping a
        backlog on disk while the link is down. Add one to the <code>bridges</code> section of the broker&rsquo;s config
        file and restart the broker:
      </p>
      <pre className="mono">{`"bridges": [
  {
    "name": "plant",
    "upstream": { "protocol": "mqtt", "url": "mqtt://broker.plant.local:1883" },
    "direction": "out",
    "out": { "topics": [{ "filter": "line1/#" }] }
  }
]`}</pre>
      <p className="muted">
        Every field (credentials, TLS, inbound topics, limits, rate limit, reconnect) is described in{' '}
        <code>docs/bridges.md</code>.
      </p>
    </div>
  );
}
