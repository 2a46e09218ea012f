/**
 * The window's live state, shared by every view. One subscription carries the broker's stats
 * once a second (pushed, not polled); the hub keeps the latest and turns changes into coalesced
 * "this area changed" pulses, so views reload lists only when the broker says something moved.
 * The topic tree's coalesced frames are opened by the Topics view itself (views that do not show
 * topics do not receive them).
 */
import type { WireStats } from '../../../core/api/contract.ts';
import type { DeadPoint } from '../logic/alarms.ts';
import { appendSample, type RateSample } from '../logic/rate-history.ts';
import type { Api, StreamState } from './api.ts';

/** How much rate history the Overview chart shows (kept here so it survives view switches). */
export const historyWindowMs = 5 * 60_000;

/** What a view can ask to be told about. */
export type LiveArea = 'stats' | 'queues' | 'dead' | 'replays';

type Listener = () => void;

/** The shared live state of one window. */
export class LiveHub {
  private readonly pulses = new Map<LiveArea, Set<Listener>>();
  private readonly stateListeners = new Set<(state: StreamState) => void>();
  private readonly dirty = new Set<LiveArea>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private close: (() => void) | undefined;
  /** The stream's state, for the status badge. */
  state: StreamState = 'connecting';
  /** The latest stats the broker pushed. */
  stats: WireStats | undefined;
  /** Rates over the last `historyWindowMs`, one sample per stats event. */
  rateHistory: RateSample[] = [];
  /** Dead-message totals over the last 10 minutes (the growing-DMQ alarm). */
  deadHistory: DeadPoint[] = [];

  constructor(
    private readonly api: Api,
    /** Longest a change waits before views hear of it; bounds refresh work under load. */
    private readonly coalesceMs = 200,
  ) {}

  /** Opens the stats stream. */
  start(): void {
    this.close = this.api.subscribe(
      { stats: true },
      (event) => {
        if (event.type === 'stats') this.receiveStats(event.stats);
      },
      (state) => this.setState(state),
    );
  }

  stop(): void {
    this.close?.();
    clearTimeout(this.flushTimer);
  }

  /** Calls `listener` (coalesced) whenever `area` changes; returns the unsubscribe. */
  onPulse(area: LiveArea, listener: Listener): () => void {
    let set = this.pulses.get(area);
    if (!set) this.pulses.set(area, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  onState(listener: (state: StreamState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Marks areas changed (also after this window's own actions); views hear of it within `coalesceMs`. */
  touch(...areas: LiveArea[]): void {
    for (const area of areas) this.dirty.add(area);
    this.flushTimer ??= setTimeout(() => this.flush(), this.coalesceMs);
  }

  private receiveStats(stats: WireStats): void {
    const previous = this.stats;
    const at = Date.now();
    this.stats = stats;
    this.rateHistory = appendSample(this.rateHistory, { at, ...stats.rates }, historyWindowMs);
    this.deadHistory = [...this.deadHistory.filter((p) => p.at >= at - 10 * 60_000), { at, total: stats.dead.total }];
    this.touch(...changedAreas(previous, stats));
  }

  private setState(state: StreamState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
    // After a (re)connect every view reloads: changes may have been missed while away.
    if (state === 'open') this.touch('stats', 'queues', 'dead', 'replays');
  }

  private flush(): void {
    this.flushTimer = undefined;
    const areas = [...this.dirty];
    this.dirty.clear();
    for (const area of areas) for (const listener of this.pulses.get(area) ?? []) listener();
  }
}

/** Which areas differ between two stats events (stats itself always: rates and uptime move). */
export function changedAreas(previous: WireStats | undefined, next: WireStats): LiveArea[] {
  const areas: LiveArea[] = ['stats'];
  if (!previous) return ['stats', 'queues', 'dead', 'replays'];
  const queueState = (stats: WireStats) =>
    JSON.stringify(stats.queues.map((q) => [q.name, q.depth, q.inFlight, q.consumers, q.counters]));
  if (queueState(previous) !== queueState(next)) areas.push('queues', 'replays');
  if (JSON.stringify(previous.dead) !== JSON.stringify(next.dead)) areas.push('dead');
  return areas;
}
