/**
 * Topics: the live topic tree with message counts, rates and the last payload per topic; the
 * selected topic's details, its value history chart (numeric payloads), its recent messages and
 * a publish form; up to four value charts pinned side by side above the tree. Keys: ↑/↓ move,
 * → opens, ← closes or goes to the parent, Enter toggles, / focuses the filter.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useBroker } from '../api/hooks.ts';
import { Details, isTyping } from '../components/bits.tsx';
import { journeyHref } from './routes.ts';
import { PayloadView } from '../components/PayloadView.tsx';
import { PublishForm } from '../components/PublishForm.tsx';
import { PinnedCharts, ValueHistoryPanel } from '../components/ValueChart.tsx';
import { VirtualList } from '../components/VirtualList.tsx';
import { count, rate, time } from '../logic/format.ts';
import { previewPayload } from '../logic/payload.ts';
import { ancestorsOf, LiveTopicTree, type LastMessage, type TopicRow } from '../logic/topic-tree.ts';
import {
  historyPreviewBytes,
  maxPinned,
  numericFields,
  parsePins,
  pinsStorageKey,
  readPayload,
  ValueHistory,
  type SeriesKey,
} from '../logic/value-history.ts';
import { SparkplugLink } from './Sparkplug.tsx';

/** How often the tree re-renders at most; frames are applied as they come. */
const renderEveryMs = 250;
/** Payload bytes the tree's frames carry per topic (the selected topic gets the full 4 KiB). */
const treePreviewBytes = 256;

export function Topics(): ReactNode {
  const { api, live } = useBroker();
  const tree = useMemo(() => new LiveTopicTree(), []);
  const [version, setVersion] = useState(0);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(0);
  const [selected, setSelected] = useState<string>();
  const filterRef = useRef<HTMLInputElement>(null);
  const history = useMemo(() => new ValueHistory(), []);
  // Pins last for this tab (sessionStorage), so leaving the view and coming back keeps them.
  const [pins, setPins] = useState<readonly SeriesKey[]>(() => parsePins(sessionStorage.getItem(pinsStorageKey)));
  useEffect(() => sessionStorage.setItem(pinsStorageKey, JSON.stringify(pins)), [pins]);
  const [chartKey, setChartKey] = useState<SeriesKey>();
  const [pinnedWindowMs, setPinnedWindowMs] = useState(60_000);

  // Value history needs every sample (min/max must not miss a spike between two tree frames), so
  // it follows the message events of the watched topics only: the selected chart's and the
  // pinned ones (≤ 5 exact topics, one stream). The broker's event door bounds what a slow page
  // costs (it drops and counts); the page does O(1) per message and draws a few times a second.
  const watchId = JSON.stringify(chartKey ? [...pins, chartKey] : pins);
  const watchedId = useMemo(
    () => JSON.stringify(history.watch(JSON.parse(watchId) as SeriesKey[])),
    [history, watchId],
  );
  useEffect(() => {
    const topics = JSON.parse(watchedId) as string[];
    if (topics.length === 0) return;
    return api.subscribe({ topics, previewBytes: historyPreviewBytes }, (event) => {
      if (event.type === 'message') history.ingest(event);
      else if (event.type === 'dropped') history.noteDropped(event.dropped);
    });
  }, [api, history, watchedId]);
  const sameKey = (a: SeriesKey) => (b: SeriesKey) => a.topic === b.topic && a.field === b.field;
  const togglePin = (key: SeriesKey) =>
    setPins((current) =>
      current.some(sameKey(key))
        ? current.filter((pin) => !sameKey(key)(pin))
        : current.length < maxPinned
          ? [...current, key]
          : current,
    );

  // Live: coalesced frames of the changed topics (a few a second, whatever the message rate:
  // DESIGN.md UI), then the snapshot; both carry totals, so the tree reconciles overlaps.
  useEffect(() => {
    const close = api.subscribe({ tree: '#', previewBytes: treePreviewBytes }, (event) => {
      if (event.type === 'topics') tree.load(event.topics);
    });
    const load = () =>
      api.call('topics.tree', { filter: '#', limit: 100_000 }).then(
        (snapshot) => tree.load(snapshot.topics),
        () => undefined,
      );
    void load();
    const offReconnect = live.onState((state) => state === 'open' && void load());
    let seen = -1;
    const timer = setInterval(() => {
      if (tree.version !== seen) {
        seen = tree.version;
        setVersion(seen);
      }
    }, renderEveryMs);
    return () => {
      close();
      offReconnect();
      clearInterval(timer);
    };
  }, [api, live, tree]);

  // `version` is the dependency that says the mutable tree changed.
  const rows = useMemo(() => tree.rows(expanded, filter), [tree, expanded, filter, version]);
  const activeIndex = Math.min(active, rows.length - 1);

  // The first topics to arrive open the first level, so a new user sees something.
  useEffect(() => {
    if (expanded.size === 0 && tree.root.children.size > 0 && tree.root.children.size <= 12)
      setExpanded(new Set(tree.root.sortedChildren().map((n) => n.path)));
  }, [version, expanded.size, tree]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === '/' && !isTyping(event.target)) {
        event.preventDefault();
        filterRef.current?.focus();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  const toggle = (path: string, open?: boolean) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (open ?? !next.has(path)) next.add(path);
      else next.delete(path);
      return next;
    });

  const select = (index: number) => {
    setActive(index);
    const row = rows[index];
    if (row) setSelected(row.node.path);
  };

  const onKey = (key: string, index: number): boolean => {
    const row = rows[index];
    if (!row) return false;
    const hasChildren = row.node.children.size > 0;
    if (key === 'ArrowRight') {
      if (hasChildren && !row.expanded) toggle(row.node.path, true);
      else if (row.expanded) select(index + 1);
      return true;
    }
    if (key === 'ArrowLeft') {
      if (row.expanded) toggle(row.node.path, false);
      else {
        const parent = ancestorsOf(row.node.path).at(-1);
        const parentIndex = rows.findIndex((r) => r.node.path === parent);
        if (parentIndex >= 0) select(parentIndex);
      }
      return true;
    }
    return false;
  };

  return (
    <section className="view fill" aria-label="Topics">
      <div className="row">
        <input
          ref={filterRef}
          type="search"
          placeholder="Filter topics: text, or an MQTT filter like plant/+/temp   ( / )"
          aria-label="Filter topics"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
          style={{ flex: 1, fontSize: 16 }}
        />
        <span className="muted" data-testid="topic-count">
          {count(tree.topicCount)} topics · {count(tree.root.subtreeMessages)} messages
        </span>
      </div>
      <PinnedCharts
        history={history}
        pins={pins}
        windowMs={pinnedWindowMs}
        onWindow={setPinnedWindowMs}
        onUnpin={togglePin}
      />
      <div className="split">
        <div className="stack">
          <div className="vhead" aria-hidden="true">
            <span style={{ flex: 1 }}>Topic</span>
            <span style={{ width: 90, textAlign: 'right' }}>Messages</span>
            <span style={{ width: 70, textAlign: 'right' }}>msg/s</span>
            <span style={{ width: '34%' }}>Last payload</span>
          </div>
          {rows.length === 0 ? (
            <div className="panel empty">
              {filter ? 'No topic matches the filter.' : 'No messages yet. Publish to any topic and it appears here.'}
            </div>
          ) : (
            <VirtualList
              label="Topic tree"
              testId="topic-tree"
              count={rows.length}
              rowKey={(i) => rows[i]!.node.path}
              active={activeIndex}
              onActiveChange={select}
              onActivate={(i) => toggle(rows[i]!.node.path)}
              onKey={onKey}
              renderRow={(i) => <TreeRow row={rows[i]!} onToggle={() => toggle(rows[i]!.node.path)} />}
            />
          )}
        </div>
        <TopicDetail
          topic={selected}
          tree={tree}
          version={version}
          charts={{ history, pins, onChartKey: setChartKey, onTogglePin: togglePin }}
        />
      </div>
    </section>
  );
}

function TreeRow(props: { row: TopicRow; onToggle: () => void }): ReactNode {
  const { node, depth, expanded } = props.row;
  const branch = node.children.size > 0;
  return (
    <>
      <span className="cell" style={{ flex: 1, paddingLeft: depth * 20 }} data-topic={node.path}>
        <span className="tree-toggle" onMouseDown={branch ? props.onToggle : undefined} aria-hidden="true">
          {branch ? (expanded ? '▾' : '▸') : ''}
        </span>
        <span style={{ fontWeight: branch ? 600 : 400 }}>{node.name === '' ? '(empty)' : node.name}</span>
        {branch && (
          <span className="muted">
            {' '}
            · {count(node.subtreeTopics)} {node.subtreeTopics === 1 ? 'topic' : 'topics'}
          </span>
        )}
      </span>
      <span className="num" style={{ width: 90 }}>
        {count(branch ? node.subtreeMessages : node.messages)}
      </span>
      <span className="num" style={{ width: 70 }}>
        {node.ratePerSec > 0 ? rate(node.ratePerSec) : ''}
      </span>
      <span className="cell mono muted" style={{ width: '34%', fontSize: 13 }}>
        {node.last ? previewPayload(node.last.payload, node.last.payloadEncoding, 80) : ''}
      </span>
    </>
  );
}

/** How many of the selected topic's live messages are kept. */
const recentLimit = 25;

/** What the topic detail needs for its value chart. */
interface ChartWiring {
  readonly history: ValueHistory;
  readonly pins: readonly SeriesKey[];
  /** Tells the view which series the detail charts (undefined: none), so it is watched. */
  readonly onChartKey: (key: SeriesKey | undefined) => void;
  readonly onTogglePin: (key: SeriesKey) => void;
}

function TopicDetail(props: {
  topic: string | undefined;
  tree: LiveTopicTree;
  version: number;
  charts: ChartWiring;
}): ReactNode {
  const { api } = useBroker();
  // Tagged with its topic: right after a new selection, the previous topic's list must not be
  // read as this one's (its payload would pick this topic's chart field).
  const [recentOf, setRecentOf] = useState<{ topic?: string; list: LastMessage[] }>({ list: [] });
  const recent = recentOf.topic === props.topic ? recentOf.list : [];
  /** The field charted per topic: the user's choice, else the first numeric field seen (kept). */
  const [fieldOf, setFieldOf] = useState<Readonly<Record<string, string>>>({});
  const [windowMs, setWindowMs] = useState(60_000);
  const topic = props.topic;

  // The selected topic gets its own coalesced frames with full 4 KiB previews: its latest message
  // a few times a second at most, so a busy topic costs the page no more than a quiet one.
  useEffect(() => {
    setRecentOf({ topic, list: [] });
    if (!topic) return;
    return api.subscribe({ tree: topic }, (event) => {
      if (event.type !== 'topics') return;
      const node = event.topics.find((n) => n.topic === topic);
      if (!node) return;
      const last: LastMessage = { ...node.lastMessage, timestamp: node.lastTimestamp };
      setRecentOf((current) =>
        current.topic !== topic || current.list[0]?.id === last.id
          ? current
          : { topic, list: [last, ...current.list].slice(0, recentLimit) },
      );
    });
  }, [api, topic]);

  const node = topic === undefined ? undefined : props.tree.find(topic);
  const last = recent[0] ?? node?.last;
  // Fields come from the latest payload (4 KiB preview), read at most once per render.
  const found = useMemo(
    () => (last && !last.truncated ? numericFields(readPayload(last.payload, last.payloadEncoding)) : []),
    [last],
  );
  const field = topic === undefined ? undefined : (fieldOf[topic] ?? found[0]);
  const fields = field === undefined || found.includes(field) ? found : [field, ...found];
  const { onChartKey } = props.charts;
  useEffect(() => {
    if (topic !== undefined && field !== undefined && fieldOf[topic] === undefined)
      setFieldOf((current) => ({ ...current, [topic]: field }));
    onChartKey(topic !== undefined && field !== undefined ? { topic, field } : undefined);
  }, [topic, field, fieldOf, onChartKey]);

  if (!topic)
    return (
      <div className="panel empty" style={{ alignSelf: 'start' }}>
        Select a topic to see its last message and publish to it.
      </div>
    );
  const { pins } = props.charts;
  const pinned = field !== undefined && pins.some((pin) => pin.topic === topic && pin.field === field);
  return (
    <div className="stack" style={{ overflow: 'auto' }} data-testid="topic-detail">
      <div className="panel stack">
        <h2 className="mono" style={{ overflowWrap: 'anywhere', fontSize: 20 }}>
          {topic}
        </h2>
        <SparkplugLink topic={topic} />
        {node && (
          <Details
            rows={[
              ['Messages', count(node.messages)],
              ['Rate', `${rate(node.ratePerSec)} msg/s`],
              [
                'Last message',
                last ? (
                  <span key="last">
                    {time(last.timestamp)} · id {last.id} (<a href={journeyHref(last.id)}>journey</a>)
                  </span>
                ) : (
                  '–'
                ),
              ],
              ['Protocol', last?.protocol ?? '–'],
              ['Content type', last?.contentType ?? '–'],
            ]}
          />
        )}
        {last ? (
          <PayloadView
            payload={last.payload}
            encoding={last.payloadEncoding}
            totalBytes={last.size}
            truncated={last.truncated}
          />
        ) : (
          <div className="muted">No message on this topic itself; its sub-topics have them.</div>
        )}
      </div>
      {field !== undefined && (
        <ValueHistoryPanel
          history={props.charts.history}
          topic={topic}
          fields={fields}
          field={field}
          onField={(chosen) => setFieldOf((current) => ({ ...current, [topic]: chosen }))}
          windowMs={windowMs}
          onWindow={setWindowMs}
          pinned={pinned}
          canPin={pins.length < maxPinned}
          onTogglePin={() => props.charts.onTogglePin({ topic, field })}
        />
      )}
      {recent.length > 1 && (
        <div className="panel">
          <h3>Recent (live, sampled a few times a second)</h3>
          <table className="table">
            <tbody>
              {recent.map((event) => (
                <tr key={event.id}>
                  <td className="mono" style={{ whiteSpace: 'nowrap' }}>
                    {time(event.timestamp)}
                  </td>
                  <td className="mono" style={{ overflowWrap: 'anywhere' }}>
                    {previewPayload(event.payload, event.payloadEncoding, 100)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="panel">
        <h3>Publish to this topic</h3>
        <PublishForm topic={topic} compact />
      </div>
    </div>
  );
}
