/**
 * Sparkplug: groups, edge nodes and devices the broker has seen on spBv1.0/… since it started,
 * online or offline from their births, deaths and wills; the selected one's metrics (names
 * resolved through the last birth), seq/bdSeq gaps, undecodable payloads, and for a node whose
 * birth was missed a "Request rebirth" button (an NCMD Node Control/Rebirth = true).
 *
 * Live: sparkplug.state polled once a second while the page is visible (docs/sparkplug.md says
 * why): the outline without metrics, and the selected node with its metrics; both bounded.
 * Keys: ↑/↓/Home/End move through the outline, Enter or a click selects.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useBroker, usePolledOperation } from '../api/hooks.ts';
import { Details, ErrorNotice, Notice } from '../components/bits.tsx';
import { count, time } from '../logic/format.ts';
import { refusalNotice } from '../logic/session.ts';
import {
  metricText,
  moveSelection,
  nodeFlags,
  outline,
  selectionFromHash,
  selectionKey,
  sparkplugHref,
  type Selection,
  type SparkplugNode,
} from '../logic/sparkplug.ts';
import './sparkplug.css';

const stateTone = { online: 'ok', offline: 'danger', unknown: 'warn' } as const;

function StateBadge(props: { state: 'online' | 'offline' | 'unknown' }): ReactNode {
  return <span className={`badge ${stateTone[props.state]}`}>{props.state}</span>;
}

export function Sparkplug(): ReactNode {
  const listed = usePolledOperation('sparkplug.state', { metrics: false });
  // A link from the Topics view (`#/sparkplug?group=…&node=…`) selects that node or device.
  const [selection, setSelection] = useState<Selection | undefined>(() => selectionFromHash(location.hash));
  const snapshot = listed.data;
  const rows = useMemo(() => outline(snapshot?.nodes ?? []), [snapshot]);
  const selectedKey = selection && selectionKey(selection);
  const index = rows.findIndex((row) => row.key === selectedKey);
  const listRef = useRef<HTMLDivElement>(null);

  // The first flagged node is selected when nothing is: what needs attention comes first.
  useEffect(() => {
    if (selection || rows.length === 0) return;
    const flagged = rows.find((row) => row.depth === 1 && row.flags.length > 0) ?? rows.find((r) => r.depth === 1);
    if (flagged) setSelection(flagged.selection);
  }, [rows, selection]);

  const onKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const next = moveSelection(event.key, index < 0 ? 0 : index, rows.length);
    if (next === undefined) return;
    event.preventDefault();
    setSelection(rows[next]!.selection);
    listRef.current?.querySelectorAll<HTMLButtonElement>('button[data-row]')[next]?.focus();
  };

  const totals = snapshot?.totals;
  return (
    <section className="view" aria-label="Sparkplug">
      <div className="grid cols-4">
        <div className="tile">
          <div className="muted">Edge nodes online</div>
          <div className="value" data-testid="sp-nodes-online">
            {totals ? `${totals.nodesOnline} / ${totals.nodes}` : '–'}
          </div>
        </div>
        <div className="tile">
          <div className="muted">Devices online</div>
          <div className="value">{totals ? `${totals.devicesOnline} / ${totals.devices}` : '–'}</div>
        </div>
        <div className="tile">
          <div className="muted">Sparkplug messages</div>
          <div className="value">{totals ? count(totals.messages) : '–'}</div>
        </div>
        <div className={`tile${totals && totals.undecodable > 0 ? ' dead' : ''}`}>
          <div className="muted">Undecodable payloads</div>
          <div className="value" data-testid="sp-undecodable">
            {totals ? count(totals.undecodable) : '–'}
          </div>
        </div>
      </div>
      <ErrorNotice error={listed.error} />
      {snapshot && snapshot.recentUndecodable.length > 0 && (
        <div className="notice error" role="status" data-testid="sp-undecodable-notice">
          Undecodable Sparkplug payload on <span className="mono">{snapshot.recentUndecodable[0]!.topic}</span> at{' '}
          {time(snapshot.recentUndecodable[0]!.at)} ({snapshot.recentUndecodable[0]!.size} bytes:{' '}
          {snapshot.recentUndecodable[0]!.error}). It is counted and shown here; the broker kept it like any message.
        </div>
      )}
      <div className="split">
        <div className="panel stack" style={{ overflow: 'auto' }}>
          <h3>Groups, edge nodes and devices</h3>
          {rows.length === 0 ? (
            <div className="empty">
              No Sparkplug B traffic yet. Edge nodes publishing on spBv1.0/… appear here from their first message.
            </div>
          ) : (
            <div ref={listRef} role="tree" aria-label="Sparkplug groups, nodes and devices" onKeyDown={onKey}>
              {rows.map((row, i) => (
                <button
                  key={row.key}
                  type="button"
                  role="treeitem"
                  // One tab stop for the outline (roving tabindex); arrows move within it.
                  tabIndex={i === Math.max(0, index) ? 0 : -1}
                  data-row
                  data-sparkplug={[row.selection.group, row.selection.node, row.selection.device]
                    .filter((part) => part !== undefined)
                    .join('/')}
                  aria-selected={row.key === selectedKey}
                  aria-level={row.depth + 1}
                  className="sp-row"
                  style={{ paddingLeft: 12 + row.depth * 22 }}
                  onClick={() => setSelection(row.selection)}
                >
                  <span className="cell" style={{ flex: 1, fontWeight: row.depth === 0 ? 600 : 400 }}>
                    <span className="muted">{['group', 'node', 'device'][row.depth]} </span>
                    <span className="mono">{row.label}</span>
                    {row.flags.map((flag) => (
                      <span key={flag} className="badge warn" style={{ marginLeft: 8 }}>
                        {flag}
                      </span>
                    ))}
                  </span>
                  <StateBadge state={row.state} />
                </button>
              ))}
            </div>
          )}
          {snapshot && snapshot.hosts.length > 0 && (
            <>
              <h3>Host applications (STATE)</h3>
              <table className="table">
                <tbody>
                  {snapshot.hosts.map((host) => (
                    <tr key={host.host}>
                      <td className="mono">{host.host}</td>
                      <td>
                        <StateBadge state={host.online ? 'online' : 'offline'} />
                      </td>
                      <td className="muted">{time(host.at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
        {selection?.node !== undefined ? (
          <NodeDetail key={selection.group + '/' + selection.node} selection={selection} />
        ) : (
          <div className="panel empty" style={{ alignSelf: 'start' }}>
            {selection ? `Group ${selection.group}: select one of its edge nodes.` : 'Select an edge node or device.'}
          </div>
        )}
      </div>
      {snapshot && snapshot.totals.untracked > 0 && (
        <div className="muted">
          {count(snapshot.totals.untracked)} message(s) past the caps (at most {count(snapshot.limits.maxNodes)} edge
          nodes, {count(snapshot.limits.maxDevices)} devices, {count(snapshot.limits.maxMetrics)} metrics) were not
          tracked.
        </div>
      )}
    </section>
  );
}

function NodeDetail(props: { selection: Selection }): ReactNode {
  const { api } = useBroker();
  const { group, node: nodeId, device: deviceId } = props.selection;
  const loaded = usePolledOperation('sparkplug.state', { group, node: nodeId! });
  const [notice, setNotice] = useState<{ ok: boolean; text: string; denied?: boolean }>();
  const node = loaded.data?.nodes[0];
  if (!node)
    return <div className="panel empty">{loaded.error ? <ErrorNotice error={loaded.error} /> : 'Loading…'}</div>;
  const device = deviceId === undefined ? undefined : node.devices.find((d) => d.device === deviceId);
  const metrics = (device ? device.metrics : node.metrics) ?? [];

  const rebirth = async () => {
    try {
      const receipt = await api.call('sparkplug.rebirth', { group, node: node.node });
      setNotice({ ok: true, text: `Rebirth requested: NCMD sent to ${receipt.topic}.` });
      loaded.reload();
    } catch (error) {
      setNotice(refusalNotice(error));
    }
  };

  return (
    <div className="stack" style={{ overflow: 'auto' }} data-testid="sparkplug-detail">
      <div className="panel stack">
        <h2 className="mono" style={{ overflowWrap: 'anywhere', fontSize: 20 }}>
          {group}/{node.node}
          {device && `/${device.device}`} <StateBadge state={device ? device.state : node.state} />
        </h2>
        {node.rebirthNeeded && (
          <div className="notice error" role="alert" data-testid="sp-rebirth-needed">
            {node.rebirthNeeded.reason === 'unknown-alias'
              ? `${node.rebirthNeeded.messageType} with alias ${node.rebirthNeeded.alias ?? '?'}${
                  node.rebirthNeeded.device ? ` (device ${node.rebirthNeeded.device})` : ''
                } that no birth named: the broker missed this node's NBIRTH, so its aliases cannot be resolved.`
              : `${node.rebirthNeeded.messageType}${
                  node.rebirthNeeded.device ? ` from device ${node.rebirthNeeded.device}` : ''
                } while it was not online (no birth seen, or sent after its death): the broker missed a birth.`}{' '}
            A rebirth asks the node to publish its NBIRTH and DBIRTHs again.
          </div>
        )}
        <div className="row">
          <button
            type="button"
            className={node.rebirthNeeded ? 'primary' : ''}
            onClick={() => void rebirth()}
            data-testid="sp-rebirth"
          >
            Request rebirth
          </button>
          <span className="muted">
            NCMD Node Control/Rebirth = true to spBv1.0/{group}/NCMD/{node.node}
            {node.rebirthRequestedAt !== null && ` · last asked ${time(node.rebirthRequestedAt)}`}
          </span>
        </div>
        <Notice notice={notice} />
        <Details
          rows={
            device
              ? [
                  ['Born', time(device.birthAt)],
                  ['Died', time(device.deathAt)],
                  ['Last message', time(device.lastMessageAt)],
                  ['Messages', count(device.messages)],
                ]
              : nodeRows(node)
          }
        />
      </div>
      <div className="panel">
        <h3>
          Metrics of {device ? `device ${device.device}` : `edge node ${node.node}`}{' '}
          <span className="muted">({count(metrics.length)})</span>
        </h3>
        {metrics.length === 0 ? (
          <div className="muted">No metric yet.</div>
        ) : (
          <table className="table" aria-label="Metrics">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Alias</th>
                <th>Type</th>
                <th>Value</th>
                <th>Timestamp</th>
              </tr>
            </thead>
            <tbody>
              {metrics.map((m) => (
                <tr key={m.name ?? `#${m.alias ?? ''}`} data-metric={m.name ?? `#${m.alias ?? ''}`}>
                  <td className="mono">{m.name ?? <span className="badge warn">unknown alias {m.alias}</span>}</td>
                  <td className="num">{m.alias ?? '–'}</td>
                  <td className="muted">{m.datatype}</td>
                  <td className="mono" style={{ overflowWrap: 'anywhere' }}>
                    {metricText(m.value)}
                  </td>
                  <td className="muted">{time(m.timestamp ?? m.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}

function nodeRows(node: SparkplugNode): Array<readonly [string, ReactNode]> {
  const gap = node.lastSeqGap;
  const bdGap = node.lastBdSeqGap;
  return [
    ['bdSeq', node.bdSeq ?? '–'],
    ['Last seq', node.seq ?? '–'],
    ['Born', time(node.birthAt)],
    ['Died', time(node.deathAt)],
    ['Last message', time(node.lastMessageAt)],
    ['Messages', count(node.messages)],
    [
      'seq gaps',
      gap ? `${node.seqGaps} (last: expected ${gap.expected}, got ${gap.received} in ${gap.messageType})` : '0',
    ],
    [
      'bdSeq gaps',
      bdGap ? `${node.bdSeqGaps} (last: expected ${bdGap.expected}, got ${bdGap.received})` : String(node.bdSeqGaps),
    ],
    ['Unknown-alias data', count(node.unknownAliasMessages)],
    ['Stale deaths ignored', count(node.staleDeaths)],
    ['Undecodable', count(node.undecodable)],
    ['Flags', nodeFlags(node).join(', ') || 'none'],
  ];
}

/** For the Topics view's detail: a spBv1.0 topic's payload is decoded in the Sparkplug view. */
export function SparkplugLink(props: { topic: string }): ReactNode {
  const href = sparkplugHref(props.topic);
  if (!href) return null;
  return (
    <div className="muted">
      Sparkplug B payload: <a href={href}>see its decoded metrics and the node&apos;s state in the Sparkplug view</a>.
    </div>
  );
}
