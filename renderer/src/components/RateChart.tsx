/** Message rates in, out and dead over time: a small SVG line chart (no chart library, offline). */
import { useRef, type ReactNode } from 'react';
import { rate } from '../logic/format.ts';
import { niceMax, type RateSample } from '../logic/rate-history.ts';
import { useSize } from './use-size.ts';

const series = [
  { key: 'inPerSec', label: 'In', color: 'var(--in)' },
  { key: 'outPerSec', label: 'Out', color: 'var(--out)' },
  { key: 'deadPerSec', label: 'Dead', color: 'var(--dead)' },
] as const;

export function RateChart(props: { samples: readonly RateSample[]; windowMs: number; height?: number }): ReactNode {
  const ref = useRef<HTMLDivElement>(null);
  const { width } = useSize(ref);
  const height = props.height ?? 200;
  const left = 48;
  const bottom = 22;
  const plotW = Math.max(10, width - left - 8);
  const plotH = height - bottom - 8;
  const now = props.samples.at(-1)?.at ?? Date.now();
  const max = niceMax(Math.max(0, ...props.samples.flatMap((s) => [s.inPerSec, s.outPerSec, s.deadPerSec])));
  const x = (at: number) => left + plotW * (1 - (now - at) / props.windowMs);
  const y = (value: number) => 8 + plotH * (1 - value / max);
  const ticks = [0, max / 2, max];

  return (
    <div ref={ref} style={{ width: '100%' }}>
      <div className="legend" aria-hidden="true">
        {series.map((s) => (
          <span key={s.key} style={{ ['--swatch' as string]: s.color }}>
            {s.label}
          </span>
        ))}
      </div>
      <svg
        className="chart"
        width={width}
        height={height}
        role="img"
        aria-label={`Message rates over the last ${props.windowMs / 60000} minutes`}
      >
        {ticks.map((tick) => (
          <g key={tick}>
            <line className="grid-line" x1={left} x2={left + plotW} y1={y(tick)} y2={y(tick)} />
            <text x={left - 8} y={y(tick) + 4} textAnchor="end">
              {rate(tick)}
            </text>
          </g>
        ))}
        <text x={left} y={height - 4}>
          −{props.windowMs / 60000} min
        </text>
        <text x={left + plotW} y={height - 4} textAnchor="end">
          now · msg/s
        </text>
        {props.samples.length > 1 &&
          series.map((s) => (
            <polyline
              key={s.key}
              fill="none"
              stroke={s.color}
              strokeWidth={2.5}
              strokeLinejoin="round"
              points={props.samples.map((p) => `${x(p.at).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ')}
            />
          ))}
      </svg>
    </div>
  );
}
