/**
 * Message rates from counters: a timer samples the engine's lifetime counters once per
 * interval and keeps the last difference. Nothing runs per message.
 */
import type { Rates } from './contract.ts';

/** Lifetime totals that rates are derived from. */
export interface CounterSample {
  readonly in: number;
  readonly out: number;
  readonly dead: number;
}

/** Broker-wide and per-queue totals at one moment. */
export interface CounterSnapshot {
  readonly broker: CounterSample;
  readonly queues: ReadonlyMap<string, CounterSample>;
}

const zero: Rates = { inPerSec: 0, outPerSec: 0, deadPerSec: 0 };

/** Samples counters every `intervalMs` and answers the rates of the last interval. */
export class RateSampler {
  private timer: NodeJS.Timeout | undefined;
  private previous: { at: number; snapshot: CounterSnapshot } | undefined;
  private brokerRates: Rates = zero;
  private queueRates = new Map<string, Rates>();

  constructor(
    private readonly read: () => CounterSnapshot,
    private readonly intervalMs = 1000,
    /** Runs after each sample with the interval's length (live stats, topic rates). */
    private readonly sampled: (seconds: number) => void = () => {},
  ) {}

  start(): void {
    this.previous = { at: performance.now(), snapshot: this.read() };
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref(); // rates must never keep the process alive
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Broker-wide rates over the last interval. */
  broker(): Rates {
    return this.brokerRates;
  }

  /** One queue's rates over the last interval (zero for a queue not yet sampled). */
  queue(name: string): Rates {
    return this.queueRates.get(name) ?? zero;
  }

  private sample(): void {
    const at = performance.now();
    const snapshot = this.read();
    const previous = this.previous;
    this.previous = { at, snapshot };
    if (!previous) return;
    const seconds = (at - previous.at) / 1000;
    if (seconds <= 0) return;
    this.brokerRates = rate(previous.snapshot.broker, snapshot.broker, seconds);
    const queueRates = new Map<string, Rates>();
    for (const [name, sample] of snapshot.queues)
      queueRates.set(name, rate(previous.snapshot.queues.get(name) ?? sample, sample, seconds));
    this.queueRates = queueRates;
    this.sampled(seconds);
  }
}

function rate(before: CounterSample, after: CounterSample, seconds: number): Rates {
  // A deleted or recreated queue can make a total go down: clamp, a rate is never negative.
  const per = (a: number, b: number) => Math.max(0, b - a) / seconds;
  return {
    inPerSec: per(before.in, after.in),
    outPerSec: per(before.out, after.out),
    deadPerSec: per(before.dead, after.dead),
  };
}
