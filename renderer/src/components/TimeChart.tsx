/**
 * The one chart of the UI: a small SVG over a time window, with lines and min/max bands (no chart
 * library, nothing fetched: offline). The Overview's rates (RateChart) and the Topics view's value
 * history (ValueChart) both draw through it; colours and text follow the theme's variables.
 */
import { useRef, type ReactNode } from 'react';
import { useSize } from './use-size.ts';

/** One line: [time ms, value] points, oldest first; an optional band of [time ms, min, max]. */
export interface ChartLine {
  readonly key: string;
  /** A CSS colour, usually a theme variable (`var(--in)`). */
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly band?: ReadonlyArray<readonly [number, number, number]>;
}

export interface TimeChartProps {
  readonly lines: readonly ChartLine[];
  /** The window shown: left and right edge (ms since epoch). */
  readonly fromMs: number;
  readonly toMs: number;
  /** The y axis' range and labelled ticks. */
  readonly low: number;
  readonly high: number;
  readonly ticks: readonly number[];
  readonly tickLabel: (value: number) => string;
  /** Under the left and the right end of the time axis. */
  readonly xLabels: readonly [string, string];
  /** What the chart shows, for screen readers. */
  readonly label: string;
  readonly height?: number;
  /** Room for the tick labels. */
  readonly left?: number;
}

export function TimeChart(props: TimeChartProps): ReactNode {
  const ref = useRef<HTMLDivElement>(null);
  const { width } = useSize(ref);
  const height = props.height ?? 200;
  const left = props.left ?? 48;
  const bottom = 22;
  const plotW = Math.max(10, width - left - 8);
  const plotH = Math.max(10, height - bottom - 8);
  const span = Math.max(1, props.toMs - props.fromMs);
  const range = props.high - props.low || 1;
  const x = (at: number) => (left + (plotW * (at - props.fromMs)) / span).toFixed(1);
  const y = (value: number) => (8 + plotH * (1 - (value - props.low) / range)).toFixed(1);
  const pointCount = props.lines.reduce((sum, line) => sum + line.points.length, 0);

  return (
    <div ref={ref} style={{ width: '100%' }}>
      <svg className="chart" width={width} height={height} role="img" aria-label={props.label} data-points={pointCount}>
        {props.ticks.map((tick) => (
          <g key={tick}>
            <line className="grid-line" x1={left} x2={left + plotW} y1={y(tick)} y2={y(tick)} />
            <text x={left - 8} y={Number(y(tick)) + 4} textAnchor="end">
              {props.tickLabel(tick)}
            </text>
          </g>
        ))}
        <text x={left} y={height - 4}>
          {props.xLabels[0]}
        </text>
        <text x={left + plotW} y={height - 4} textAnchor="end">
          {props.xLabels[1]}
        </text>
        {props.lines.map((line) => (
          <g key={line.key}>
            {line.band && line.band.length > 0 && (
              <polygon
                className="chart-band"
                fill={line.color}
                stroke={line.color}
                points={[
                  ...line.band.map(([at, , max]) => `${x(at)},${y(max)}`),
                  ...line.band.toReversed().map(([at, min]) => `${x(at)},${y(min)}`),
                ].join(' ')}
              />
            )}
            {line.points.length > 1 && (
              <polyline
                fill="none"
                stroke={line.color}
                strokeWidth={2.5}
                strokeLinejoin="round"
                points={line.points.map(([at, value]) => `${x(at)},${y(value)}`).join(' ')}
              />
            )}
            {line.points.length === 1 && (
              <circle cx={x(line.points[0]![0])} cy={y(line.points[0]![1])} r={3} fill={line.color} />
            )}
          </g>
        ))}
      </svg>
    </div>
  );
}
