/**
 * Connections: every client on every protocol, with a disconnect action. The broker's contract
 * does not list connections yet; until it does, this view shows what it can (consumers per
 * queue, from the pushed stats) and says what is missing.
 */
import type { ReactNode } from 'react';
import { useStats } from '../api/hooks.ts';
import { count } from '../logic/format.ts';

export function Connections(): ReactNode {
  const stats = useStats();
  const consuming = (stats?.queues ?? []).filter((q) => q.consumers > 0);
  return (
    <section className="view" aria-label="Connections">
      <div className="notice" role="note">
        This broker’s API does not list connections yet (no <code>connections.list</code> /{' '}
        <code>connections.close</code> operation), so clients cannot be shown per protocol or disconnected from here.
        Consumers attached to queues are shown below.
      </div>
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
    </section>
  );
}
