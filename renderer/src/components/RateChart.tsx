/** Message rates in, out and dead over time, drawn by the shared TimeChart. */
import type { ReactNode } from 'react';
import { rate } from '../logic/format.ts';
import { niceMax, type RateSample } from '../logic/rate-history.ts';
import { TimeChart } from './TimeChart.tsx';

const series = [
  { key: 'inPerSec', label: 'In', color: 'var(--in)' },
  { key: 'outPerSec', label: 'Out', color: 'var(--out)' },
  { key: 'deadPerSec', label: 'Dead', color: 'var(--dead)' },
] as const;

export function RateChart(props: { samples: readonly RateSample[]; windowMs: number; height?: number }): ReactNode {
  const now = props.samples.at(-1)?.at ?? Date.now();
  const max = niceMax(Math.max(0, ...props.samples.flatMap((s) => [s.inPerSec, s.outPerSec, s.deadPerSec])));
  const minutes = props.windowMs / 60000;
  return (
    <div style={{ width: '100%' }}>
      <div className="legend" aria-hidden="true">
        {series.map((s) => (
          <span key={s.key} style={{ ['--swatch' as string]: s.color }}>
            {s.label}
          </span>
        ))}
      </div>
      <TimeChart
        lines={
          props.samples.length > 1
            ? series.map((s) => ({
                key: s.key,
                color: s.color,
                points: props.samples.map((p) => [p.at, p[s.key]] as const),
              }))
            : []
        }
        fromMs={now - props.windowMs}
        toMs={now}
        low={0}
        high={max}
        ticks={[0, max / 2, max]}
        tickLabel={rate}
        xLabels={[`−${minutes} min`, 'now · msg/s']}
        label={`Message rates over the last ${minutes} minutes`}
        height={props.height ?? 200}
      />
    </div>
  );
}
