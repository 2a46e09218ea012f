/**
 * Connections: every client on every protocol (MQTT, AMQP…), who it is, from where, since when
 * and how many messages it sent and received, refreshed once a second (connections.list), with
 * a Disconnect per row (confirmed; the client's unsettled deliveries are redelivered).
 * Consumers per queue (from the pushed stats) below.
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { OperationOutput } from '../../../core/api/contract.ts';
import { useBroker, useOperation, useStats } from '../api/hooks.ts';
import { ConfirmButton, ErrorNotice, Notice } from '../components/bits.tsx';
import { count, duration, time } from '../logic/format.ts';
import { refusalNotice } from '../logic/session.ts';

type WireConnection = OperationOutput<'connections.list'>['connections'][number];

/** How often the list is reloaded (the brief: at most once a second). */
const refreshMs = 1000;

export function Connections(): ReactNode {
  const { api } = useBroker();
  const listed = useOperation('connections.list', {});
  const { reload } = listed;
  useEffect(() => {
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  const [protocol, setProtocol] = useState('');
  const [text, setText] = useState('');
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const all = listed.data?.connections ?? [];
  const protocols = useMemo(() => [...new Set(all.map((c) => c.protocol))].sort(), [all]);
  const needle = text.trim().toLowerCase();
  const shown = all
    .filter((c) => protocol === '' || c.protocol === protocol)
    .filter(
      (c) => needle === '' || [c.clientId, c.user, c.address].some((field) => field?.toLowerCase().includes(needle)),
    )
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.connectedAt - b.connectedAt);
  const now = Date.now();

  const disconnect = async (connection: WireConnection) => {
    try {
      await api.call('connections.disconnect', { id: connection.id });
      setNotice({ ok: true, text: `Disconnected ${connection.clientId ?? connection.id} (${connection.protocol}).` });
      reload();
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  return (
    <section className="view" aria-label="Connections">
      <div className="row">
        <div className="tabs" role="tablist" aria-label="Protocol" style={{ borderBottom: 'none' }}>
          <button role="tab" aria-selected={protocol === ''} onClick={() => setProtocol('')}>
            All <span className="muted">{count(all.length)}</span>
          </button>
          {protocols.map((p) => (
            <button key={p} role="tab" aria-selected={protocol === p} onClick={() => setProtocol(p)}>
              {p.toUpperCase()} <span className="muted">{count(all.filter((c) => c.protocol === p).length)}</span>
            </button>
          ))}
        </div>
        <span className="spacer" />
        <input
          aria-label="Filter connections"
          placeholder="client id, user or address"
          value={text}
          onChange={(e) => setText(e.target.value)}
          style={{ width: 280 }}
        />
      </div>
      <ErrorNotice error={listed.error} />
      <Notice notice={notice} />
      <div className="panel">
        {shown.length === 0 ? (
          <div className="empty">
            {all.length === 0 ? 'No client is connected.' : 'No connection matches the filter.'}
          </div>
        ) : (
          <table className="table" aria-label="Connections">
            <thead>
              <tr>
                <th>Protocol</th>
                <th>Client id</th>
                <th>User</th>
                <th>Address</th>
                <th>Connected</th>
                <th className="num">Msgs in</th>
                <th className="num">Msgs out</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((c) => (
                <tr key={c.id} data-connection={c.clientId ?? c.id}>
                  <td>
                    <span className="badge">{c.protocol.toUpperCase()}</span>
                  </td>
                  <td className="mono">{c.clientId ?? '—'}</td>
                  <td className="mono">{c.user ?? <span className="muted">anonymous</span>}</td>
                  <td className="mono muted">{c.address ?? '—'}</td>
                  <td title={new Date(c.connectedAt).toLocaleString()}>
                    {time(c.connectedAt)} <span className="muted">({duration(Math.max(0, now - c.connectedAt))})</span>
                  </td>
                  <td className="num">{count(c.counters.messagesIn)}</td>
                  <td className="num">{count(c.counters.messagesOut)}</td>
                  <td style={{ textAlign: 'right' }}>
                    <ConfirmButton
                      label="Disconnect"
                      confirm="Disconnect? (click again)"
                      onConfirm={() => void disconnect(c)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <ConsumersByQueue />
    </section>
  );
}

function ConsumersByQueue(): ReactNode {
  const stats = useStats();
  const consuming = (stats?.queues ?? []).filter((q) => q.consumers > 0);
  return (
    <div className="panel">
      <h3>Consumers by queue</h3>
      {consuming.length === 0 ? (
        <div className="muted">No consumer is attached to any queue.</div>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Queue</th>
              <th className="num">Consumers</th>
              <th className="num">In flight</th>
              <th className="num">Delivered</th>
            </tr>
          </thead>
          <tbody>
            {consuming.map((q) => (
              <tr key={q.name}>
                <td className="mono">{q.name}</td>
                <td className="num">{q.consumers}</td>
                <td className="num">{count(q.inFlight)}</td>
                <td className="num">{count(q.counters.delivered)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
