/**
 * The soak's time series: latency percentiles and throughput per window, and the least-squares
 * trend that shows a leak as a slope.
 */
import type { Point } from './ledger.ts';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function latencyWindows(
  latency: Map<string, Point[]>,
  windowMs: number,
): Record<string, { p50: Point[]; p99: Point[] }> {
  const out: Record<string, { p50: Point[]; p99: Point[] }> = {};
  for (const [via, points] of latency) {
    const windows = new Map<number, number[]>();
    for (const point of points) {
      const key = Math.floor(point.at / windowMs) * windowMs;
      let values = windows.get(key);
      if (!values) windows.set(key, (values = []));
      values.push(point.value);
    }
    const series = { p50: [] as Point[], p99: [] as Point[] };
    for (const [at, values] of [...windows].sort((a, b) => a[0] - b[0])) {
      values.sort((a, b) => a - b);
      series.p50.push({ at, value: percentile(values, 50) });
      series.p99.push({ at, value: percentile(values, 99) });
    }
    out[via] = series;
  }
  return out;
}

export function throughputWindows(times: Map<string, number[]>, windowMs: number): Record<string, Point[]> {
  const out: Record<string, Point[]> = {};
  for (const [protocol, list] of times) {
    const counts = new Map<number, number>();
    for (const at of list) {
      const key = Math.floor(at / windowMs) * windowMs;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    out[protocol] = [...counts].sort((a, b) => a[0] - b[0]).map(([at, n]) => ({ at, value: n / (windowMs / 1000) }));
  }
  return out;
}

/** Samples after the first 20 s of each broker life (start-up allocation is not a leak). */
export function settled(points: Point[], lives: number[]): Point[] {
  return points.filter((point) => {
    const life = lives.filter((start) => start <= point.at).pop() ?? 0;
    return point.at - life > 20_000;
  });
}

/** Least-squares slope of a series, per hour. */
export function slopePerHour(points: readonly Point[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.at, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.at - meanX) * (p.value - meanY);
    den += (p.at - meanX) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

/**
 * The last sample of each broker life (just before its kill, or the run's end): one point per
 * life at the same stage, after its post-restart catch-up. Their slope is the leak signal; a slope
 * over every sample of short lives also measures each life's warm-up and catch-up.
 */
export function endOfLives(points: readonly Point[], lives: readonly number[]): Point[] {
  const ends: Point[] = [];
  lives.forEach((start, index) => {
    const next = lives[index + 1] ?? Infinity;
    const inLife = points.filter((point) => point.at >= start && point.at < next);
    if (inLife.length > 0) ends.push(inLife[inLife.length - 1]!);
  });
  return ends;
}
