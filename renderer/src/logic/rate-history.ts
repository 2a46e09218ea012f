/** A bounded history of rate samples for the Overview chart: newest last, oldest dropped. */
import type { Rates } from '../../../core/api/contract.ts';

/** One point on the chart. */
export interface RateSample extends Rates {
  /** When it was taken (ms since epoch). */
  readonly at: number;
}

/** Appends `sample`, keeping only the last `windowMs` (a new array: React sees the change). */
export function appendSample(history: readonly RateSample[], sample: RateSample, windowMs: number): RateSample[] {
  const from = sample.at - windowMs;
  const kept = history.filter((point) => point.at >= from && point.at < sample.at);
  kept.push(sample);
  return kept;
}

/** A round upper bound for the y axis: 1, 2, 5 × 10ⁿ, never below `floor`. */
export function niceMax(value: number, floor = 10): number {
  const target = Math.max(value, floor);
  const magnitude = 10 ** Math.floor(Math.log10(target));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= target) return step * magnitude;
  return 10 * magnitude;
}
