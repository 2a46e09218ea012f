/**
 * Value history for the Topics view: numbers read from live payloads (a bare number, or a field
 * of a JSON object such as `temperature` or `values.pressure`), kept per series in a bounded
 * ring of time buckets and drawn a few times a second, never once per message.
 *
 * Where the samples come from (docs/ui.md: Value history): the tree's coalesced frames carry only
 * each topic's latest message, so a chart fed by them would miss every spike between two frames.
 * The chart therefore subscribes to the message events (`events.stream` `topics`) of the watched
 * topics only — the selected one and at most `maxPinned` pinned ones, exact names, one stream for
 * all of them. The broker's cost is one preview per message of those few topics, and a page that
 * reads too slowly is bounded by the event door's buffer (events are dropped and counted, the
 * chart says so). The page's cost per message is one JSON parse and an O(1) bucket update; memory
 * is fixed (`bucketCapacity` buckets per series); drawing happens at most every `renderEveryMs`.
 *
 * Buckets keep min, max and last, so drawing them (and merging them into pixel columns with
 * `downsample`) never loses a spike: a 1 ms excursion at 1 kHz still reaches the chart's band.
 */
import type { MessageEvent } from '../../../core/api/contract.ts';

/** Width of one stored bucket. */
export const bucketMs = 100;
/** Buckets kept per series: 3000 × 100 ms = the last 5 minutes of a busy topic (more of a sparse one). */
export const bucketCapacity = 3000;
/** The windows a chart can show. */
export const chartWindowsMs = [30_000, 60_000, 5 * 60_000] as const;
/** Most series pinned side by side. */
export const maxPinned = 4;
/** How often charts redraw at most (coalesced, DESIGN.md: UI). */
export const renderEveryMs = 250;
/** Payload bytes each watched message carries (numeric telemetry is small; a truncated payload counts as not numeric). */
export const historyPreviewBytes = 1024;
/** Most numeric fields offered for one payload. */
const maxFields = 32;
/** Deepest JSON nesting searched for numeric fields. */
const maxDepth = 6;

/** One chart: a topic and the field read from its payloads ('' when the payload itself is the number). */
export interface SeriesKey {
  readonly topic: string;
  readonly field: string;
}

/** A time bucket: every sample whose time fell in [from, from + width). */
export interface Bucket {
  /** Start of the bucket (ms since epoch). */
  readonly from: number;
  readonly min: number;
  readonly max: number;
  /** The newest sample's value and time. */
  readonly last: number;
  readonly lastAt: number;
  /** Samples merged into it. */
  readonly count: number;
}

/** Summary of a window: min, max, the newest value and how many samples. */
export interface WindowStats {
  readonly min: number;
  readonly max: number;
  readonly last: number;
  readonly lastAt: number;
  readonly count: number;
}

/**
 * A payload read as JSON-ish data: a number for a bare number (`21.5`), the parsed value for a
 * JSON object or array, undefined for anything else (binary, text, truncated JSON).
 */
export function readPayload(payload: string, encoding: MessageEvent['payloadEncoding']): unknown {
  if (encoding !== 'utf8') return undefined;
  const text = payload.trim();
  if (text === '') return undefined;
  const first = text.charCodeAt(0);
  if (first === 123 /* { */ || first === 91 /* [ */) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  }
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** The number at `field` (dot-separated keys, array indexes as numbers) or undefined. */
export function valueAt(data: unknown, field: string): number | undefined {
  let current = data;
  if (field !== '')
    for (const key of field.split('.')) {
      if (current === null || typeof current !== 'object') return undefined;
      current = (current as Record<string, unknown>)[key];
    }
  return typeof current === 'number' && Number.isFinite(current) ? current : undefined;
}

/** Every numeric field of `data`, depth first in payload order ('' for a bare number), at most `max`. */
export function numericFields(data: unknown, max = maxFields): string[] {
  const found: string[] = [];
  const visit = (value: unknown, path: string, depth: number) => {
    if (found.length >= max) return;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) found.push(path);
      return;
    }
    if (value === null || typeof value !== 'object' || depth >= maxDepth) return;
    for (const [key, child] of Object.entries(value)) visit(child, path === '' ? key : `${path}.${key}`, depth + 1);
  };
  visit(data, '', 0);
  return found;
}

/**
 * A fixed-size ring of time buckets for one series: O(1) per sample, no allocation after
 * construction. Only buckets that received a sample are stored, so a quiet topic's history
 * reaches further back than `capacity × width`. A sample older than the newest bucket (a clock
 * step back) is merged into the newest bucket: the chart's time never runs backwards.
 */
export class BucketRing {
  private readonly from: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly last: Float64Array;
  private readonly lastAt: Float64Array;
  private readonly count: Uint32Array;
  /** Index of the newest bucket. */
  private head = -1;
  /** Buckets in use. */
  private used = 0;
  /** Samples ever added (including those whose buckets were overwritten). */
  samples = 0;

  constructor(
    readonly capacity: number = bucketCapacity,
    readonly widthMs: number = bucketMs,
  ) {
    this.from = new Float64Array(capacity);
    this.min = new Float64Array(capacity);
    this.max = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.lastAt = new Float64Array(capacity);
    this.count = new Uint32Array(capacity);
  }

  /** Buckets in use (never above `capacity`). */
  get size(): number {
    return this.used;
  }

  /** Adds one sample taken at `at` (ms since epoch). */
  add(at: number, value: number): void {
    this.samples++;
    const from = Math.floor(at / this.widthMs) * this.widthMs;
    const h = this.head;
    if (h >= 0 && from <= this.from[h]!) {
      if (value < this.min[h]!) this.min[h] = value;
      if (value > this.max[h]!) this.max[h] = value;
      this.last[h] = value;
      this.lastAt[h] = Math.max(at, this.lastAt[h]!);
      this.count[h]!++;
      return;
    }
    const next = (h + 1) % this.capacity;
    this.head = next;
    if (this.used < this.capacity) this.used++;
    this.from[next] = from;
    this.min[next] = value;
    this.max[next] = value;
    this.last[next] = value;
    this.lastAt[next] = at;
    this.count[next] = 1;
  }

  /** The buckets that start at or after `sinceMs`, oldest first. */
  buckets(sinceMs = -Infinity): Bucket[] {
    const out: Bucket[] = [];
    for (let age = this.used - 1; age >= 0; age--) {
      const i = (this.head - age + this.capacity) % this.capacity;
      if (this.from[i]! + this.widthMs <= sinceMs) continue;
      out.push({
        from: this.from[i]!,
        min: this.min[i]!,
        max: this.max[i]!,
        last: this.last[i]!,
        lastAt: this.lastAt[i]!,
        count: this.count[i]!,
      });
    }
    return out;
  }

  /** Min, max, newest value and sample count since `sinceMs`; undefined when there is none. */
  stats(sinceMs = -Infinity): WindowStats | undefined {
    let stats: { min: number; max: number; last: number; lastAt: number; count: number } | undefined;
    for (let age = this.used - 1; age >= 0; age--) {
      const i = (this.head - age + this.capacity) % this.capacity;
      if (this.from[i]! + this.widthMs <= sinceMs) continue;
      if (!stats) stats = { min: this.min[i]!, max: this.max[i]!, last: 0, lastAt: 0, count: 0 };
      stats.min = Math.min(stats.min, this.min[i]!);
      stats.max = Math.max(stats.max, this.max[i]!);
      stats.last = this.last[i]!;
      stats.lastAt = this.lastAt[i]!;
      stats.count += this.count[i]!;
    }
    return stats;
  }
}

/**
 * Merges buckets into at most `columns` equal time columns over [fromMs, toMs) — one per few
 * pixels — keeping each column's min and max (spikes survive) and its newest value.
 */
export function downsample(buckets: readonly Bucket[], fromMs: number, toMs: number, columns: number): Bucket[] {
  const width = (toMs - fromMs) / Math.max(1, columns);
  const out: Bucket[] = [];
  let column = -1;
  for (const bucket of buckets) {
    if (bucket.lastAt < fromMs || bucket.from >= toMs) continue;
    const c = Math.max(0, Math.min(columns - 1, Math.floor((bucket.from - fromMs) / width)));
    const previous = out.at(-1);
    if (previous && c === column)
      out[out.length - 1] = {
        from: previous.from,
        min: Math.min(previous.min, bucket.min),
        max: Math.max(previous.max, bucket.max),
        last: bucket.last,
        lastAt: bucket.lastAt,
        count: previous.count + bucket.count,
      };
    else {
      out.push({ ...bucket, from: Math.max(fromMs + c * width, bucket.from) });
      column = c;
    }
  }
  return out;
}

/** A y-axis range with round ends around [min, max] (a flat series gets room above and below). */
export function niceRange(min: number, max: number): { low: number; high: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { low: 0, high: 1 };
  const span = max - min;
  const pad = span > 0 ? span * 0.08 : Math.max(Math.abs(max) * 0.05, 1);
  const low = min - pad;
  const high = max + pad;
  const step = 10 ** Math.floor(Math.log10(high - low)) / 2;
  return { low: Math.floor(low / step) * step, high: Math.ceil(high / step) * step };
}

/** A value as the stats line shows it: up to 7 significant digits, no float noise (21.250000001 → 21.25). */
export function formatValue(value: number): string {
  return String(Number(value.toPrecision(7)));
}

/** A series' label: `topic · field` (the topic alone for a bare number). */
export function seriesLabel(key: SeriesKey): string {
  return key.field === '' ? key.topic : `${key.topic} · ${key.field}`;
}

/** One watched series. */
export interface Series extends SeriesKey {
  readonly ring: BucketRing;
  /** Messages on the topic whose payload had no number at `field`. */
  skipped: number;
}

/**
 * The series being charted, fed by message events. Mutable on purpose (samples arrive far more
 * often than anything is drawn); `frame` moves at most every `renderEveryMs` when samples came,
 * which is what React watches (`subscribe` + `frame` fit useSyncExternalStore).
 */
export class ValueHistory {
  private readonly byTopic = new Map<string, Map<string, Series>>();
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private changed = false;
  private idleTicks = 0;
  /** Bumped when a redraw is due. */
  frame = 0;
  /** Events the broker dropped because this page read too slowly (its `dropped` events). */
  dropped = 0;
  /** Page clock minus broker clock (smallest seen: network delay only adds to it). */
  private clockOffsetMs = Infinity;

  constructor(private readonly everyMs = renderEveryMs) {}

  /** Keeps exactly these series (existing ones keep their samples); returns the topics to subscribe to, sorted. */
  watch(keys: readonly SeriesKey[]): string[] {
    const wanted = new Map<string, Set<string>>();
    for (const key of keys) {
      let fields = wanted.get(key.topic);
      if (!fields) wanted.set(key.topic, (fields = new Set()));
      fields.add(key.field);
    }
    for (const [topic, series] of this.byTopic) {
      const fields = wanted.get(topic);
      if (!fields) this.byTopic.delete(topic);
      else for (const field of series.keys()) if (!fields.has(field)) series.delete(field);
    }
    for (const [topic, fields] of wanted) {
      let series = this.byTopic.get(topic);
      if (!series) this.byTopic.set(topic, (series = new Map()));
      for (const field of fields)
        if (!series.has(field)) series.set(field, { topic, field, ring: new BucketRing(), skipped: 0 });
    }
    this.changed = true;
    return [...wanted.keys()].sort();
  }

  /** The series for `key`, when watched. */
  get(key: SeriesKey): Series | undefined {
    return this.byTopic.get(key.topic)?.get(key.field);
  }

  /** Takes one message event: its payload is parsed once, then each watched field of its topic gets a sample. */
  ingest(event: MessageEvent, receivedAt = Date.now()): void {
    const series = this.byTopic.get(event.topic);
    if (!series) return;
    this.clockOffsetMs = Math.min(this.clockOffsetMs, receivedAt - event.timestamp);
    const data = event.truncated ? undefined : readPayload(event.payload, event.payloadEncoding);
    for (const one of series.values()) {
      const value = valueAt(data, one.field);
      if (value === undefined) one.skipped++;
      else one.ring.add(event.timestamp, value);
    }
    this.changed = true;
  }

  /** Counts events the broker dropped for this page. */
  noteDropped(count: number): void {
    this.dropped += count;
    this.changed = true;
  }

  /** The broker's "now" as seen from the page (the charts' right edge). */
  now(pageNow = Date.now()): number {
    return Number.isFinite(this.clockOffsetMs) ? pageNow - this.clockOffsetMs : pageNow;
  }

  /**
   * Calls `listener` at most every `everyMs` while samples arrive (and once a second without, so
   * the charts' time axis moves on); returns the unsubscribe.
   */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => {
      if (!this.changed && ++this.idleTicks * this.everyMs < 1000) return;
      this.changed = false;
      this.idleTicks = 0;
      this.frame++;
      for (const one of this.listeners) one();
    }, this.everyMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  };
}

/** Where the pinned series are kept for this tab (their samples are not: they restart when the view opens). */
export const pinsStorageKey = 'sluice.valuePins';

/** Pinned series read back from storage: anything malformed is left out, at most `maxPinned`. */
export function parsePins(stored: string | null): SeriesKey[] {
  if (!stored) return [];
  let data: unknown;
  try {
    data = JSON.parse(stored);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) return [];
  const pins: SeriesKey[] = [];
  for (const item of data as unknown[]) {
    const { topic, field } = (item ?? {}) as Partial<Record<keyof SeriesKey, unknown>>;
    if (typeof topic !== 'string' || typeof field !== 'string' || topic === '') continue;
    if (pins.some((pin) => pin.topic === topic && pin.field === field)) continue;
    if (pins.length < maxPinned) pins.push({ topic, field });
  }
  return pins;
}
