/**
 * Value history charts (docs/ui.md: Value history): one series' live chart with its min, max and
 * last value over the window, and the panel of pinned charts shown side by side. Each chart
 * redraws when the history's coalesced `frame` moves (at most every renderEveryMs), never per
 * message; it draws at most `columns` min/max columns whatever the message rate.
 */
import { useSyncExternalStore, type ReactNode } from 'react';
import { count } from '../logic/format.ts';
import {
  chartWindowsMs,
  downsample,
  formatValue,
  niceRange,
  seriesLabel,
  type SeriesKey,
  type ValueHistory,
} from '../logic/value-history.ts';
import { TimeChart } from './TimeChart.tsx';

/** Re-renders the caller on each coalesced frame of `history`. */
export function useHistoryFrame(history: ValueHistory): number {
  return useSyncExternalStore(history.subscribe, () => history.frame);
}

/** "30 s", "1 min", "5 min". */
export function windowName(ms: number): string {
  return ms < 60_000 ? `${ms / 1000} s` : `${ms / 60_000} min`;
}

/** Chooses how much time the charts show. */
export function WindowChooser(props: { value: number; onChange: (ms: number) => void; label: string }): ReactNode {
  return (
    <label className="row" style={{ gap: 6 }}>
      <span className="muted">Window</span>
      <select
        aria-label={props.label}
        value={props.value}
        onChange={(event) => props.onChange(Number(event.target.value))}
      >
        {chartWindowsMs.map((ms) => (
          <option key={ms} value={ms}>
            {windowName(ms)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** One series over the last `windowMs`: min/max band, the line of newest values, and the window's stats. */
export function ValueChart(props: {
  history: ValueHistory;
  series: SeriesKey;
  windowMs: number;
  height?: number;
  /** Pixel columns at most (each keeps its min and max). */
  columns?: number;
}): ReactNode {
  useHistoryFrame(props.history);
  const series = props.history.get(props.series);
  const toMs = props.history.now();
  const fromMs = toMs - props.windowMs;
  const stats = series?.ring.stats(fromMs);
  const columns = series && stats ? downsample(series.ring.buckets(fromMs), fromMs, toMs, props.columns ?? 240) : [];
  const { low, high } = niceRange(stats?.min ?? 0, stats?.max ?? 1);
  const ticks = [low, (low + high) / 2, high];
  const tickLabels = ticks.map(formatValue);
  const label = seriesLabel(props.series);
  return (
    <div className="stack value-chart" style={{ gap: 6 }} data-testid="value-chart" data-series={label}>
      <div className="row value-stats" aria-live="off">
        {stats ? (
          <>
            <span>
              Last <b data-testid="value-last">{formatValue(stats.last)}</b>
            </span>
            <span>
              Min <b data-testid="value-min">{formatValue(stats.min)}</b>
            </span>
            <span>
              Max <b data-testid="value-max">{formatValue(stats.max)}</b>
            </span>
            <span className="muted">
              <span data-testid="value-count">{count(stats.count)}</span> samples in {windowName(props.windowMs)}
            </span>
          </>
        ) : (
          <span className="muted">Waiting for values…</span>
        )}
        {series && series.skipped > 0 && (
          <span className="muted" title="Messages on this topic whose payload had no number at this field">
            · {count(series.skipped)} without a value
          </span>
        )}
        {props.history.dropped > 0 && (
          <span className="warn-text" title="The broker dropped live events because this page read too slowly">
            · {count(props.history.dropped)} dropped
          </span>
        )}
      </div>
      <TimeChart
        lines={[
          {
            key: label,
            color: 'var(--accent)',
            points: columns.map((c) => [c.lastAt, c.last] as const),
            band: columns.map((c) => [c.lastAt, c.min, c.max] as const),
          },
        ]}
        fromMs={fromMs}
        toMs={toMs}
        low={low}
        high={high}
        ticks={ticks}
        tickLabel={formatValue}
        left={Math.max(40, 12 + 7 * Math.max(...tickLabels.map((text) => text.length)))}
        xLabels={[`−${windowName(props.windowMs)}`, 'now']}
        label={
          stats
            ? `${label} over the last ${windowName(props.windowMs)}: last ${formatValue(stats.last)}, min ${formatValue(stats.min)}, max ${formatValue(stats.max)}`
            : `${label}: no values yet`
        }
        height={props.height ?? 180}
      />
    </div>
  );
}

/** The pinned charts, side by side, each with its unpin button. */
export function PinnedCharts(props: {
  history: ValueHistory;
  pins: readonly SeriesKey[];
  windowMs: number;
  onWindow: (ms: number) => void;
  onUnpin: (key: SeriesKey) => void;
}): ReactNode {
  if (props.pins.length === 0) return null;
  return (
    <section className="panel stack" aria-label="Pinned charts" data-testid="pinned-charts" style={{ gap: 8 }}>
      <div className="row">
        <h3 style={{ margin: 0 }}>Pinned charts</h3>
        <span className="spacer" />
        <WindowChooser value={props.windowMs} onChange={props.onWindow} label="Pinned charts window" />
      </div>
      <div className="grid" style={{ gridTemplateColumns: `repeat(${props.pins.length}, minmax(0, 1fr))`, gap: 12 }}>
        {props.pins.map((key) => (
          <div key={seriesLabel(key)} className="stack" style={{ gap: 4 }}>
            <div className="row" style={{ flexWrap: 'nowrap' }}>
              <span className="mono cell" style={{ flex: 1, fontSize: 13 }} title={seriesLabel(key)}>
                {seriesLabel(key)}
              </span>
              <button type="button" aria-label={`Unpin ${seriesLabel(key)}`} onClick={() => props.onUnpin(key)}>
                Unpin
              </button>
            </div>
            <ValueChart history={props.history} series={key} windowMs={props.windowMs} height={130} columns={160} />
          </div>
        ))}
      </div>
    </section>
  );
}

/** The selected topic's value history: field and window choosers, the pin button and the chart. */
export function ValueHistoryPanel(props: {
  history: ValueHistory;
  topic: string;
  /** Numeric fields found in the topic's payloads (the chosen one included). */
  fields: readonly string[];
  field: string;
  onField: (field: string) => void;
  windowMs: number;
  onWindow: (ms: number) => void;
  pinned: boolean;
  /** False when `maxPinned` charts are pinned already (and this one is not). */
  canPin: boolean;
  onTogglePin: () => void;
}): ReactNode {
  const key = { topic: props.topic, field: props.field };
  return (
    <section className="panel stack" aria-label="Value history" data-testid="value-history" style={{ gap: 8 }}>
      <div className="row">
        <h3 style={{ margin: 0 }}>Value history</h3>
        <span className="spacer" />
        <button
          type="button"
          aria-pressed={props.pinned}
          disabled={!props.pinned && !props.canPin}
          title={!props.pinned && !props.canPin ? 'Four charts are pinned: unpin one first' : undefined}
          aria-label={`${props.pinned ? 'Unpin' : 'Pin'} chart of ${seriesLabel(key)}`}
          onClick={props.onTogglePin}
        >
          {props.pinned ? 'Pinned' : 'Pin chart'}
        </button>
      </div>
      <div className="row">
        <label className="row" style={{ gap: 6 }}>
          <span className="muted">Field</span>
          <select
            aria-label="Field to chart"
            value={props.field}
            onChange={(event) => props.onField(event.target.value)}
          >
            {props.fields.map((field) => (
              <option key={field} value={field}>
                {field === '' ? '(the payload)' : field}
              </option>
            ))}
          </select>
        </label>
        <WindowChooser value={props.windowMs} onChange={props.onWindow} label="Chart window" />
      </div>
      <ValueChart history={props.history} series={key} windowMs={props.windowMs} />
    </section>
  );
}
