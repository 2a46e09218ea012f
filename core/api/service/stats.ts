/**
 * The broker's stats (`stats.get` and the live `stats` events) and the lifetime counters the
 * rate sampler derives rates from.
 */
import type { Engine } from '../../engine/engine.ts';
import type { WireStats } from '../contract.ts';
import type { CounterSnapshot, RateSampler } from '../rates.ts';
import { toWireQueue } from '../wire.ts';

/** The broker's stats now, with the rates of the last interval; `startedAt` is when the service started. */
export function brokerStats(engine: Engine, startedAt: number, rates: RateSampler): WireStats {
  const { counters } = engine;
  const storage = engine.storageInfo();
  const deadCounts = engine.deadMessages.counts();
  return {
    startedAt,
    uptimeMs: Date.now() - startedAt,
    broker: {
      published: counters.published,
      publishRefused: counters.publishRefused,
      delivered: counters.delivered,
      commits: counters.commits,
      commitMsAverage: counters.commits > 0 ? counters.commitMsTotal / counters.commits : 0,
    },
    rates: rates.broker(),
    storage: {
      databaseBytes: storage.databaseBytes,
      logBytes: storage.logBytes,
      logStartId: String(storage.logStartId),
      logStartTime: storage.firstTimestamp,
    },
    queues: engine.listQueues().map((info) => {
      const { config: _config, createdAt: _createdAt, ...state } = toWireQueue(info, rates.queue(info.name));
      return state;
    }),
    dead: { total: deadCounts.reduce((sum, row) => sum + row.count, 0), byQueue: deadCounts },
  };
}

/** Lifetime totals for the rate sampler: broker in = published, out = delivered, dead = dead-lettered. */
export function sampleCounters(engine: Engine): CounterSnapshot {
  const queues = new Map<string, { in: number; out: number; dead: number }>();
  let dead = 0;
  for (const { name, counters } of engine.listQueues()) {
    queues.set(name, { in: counters.enqueued, out: counters.delivered, dead: counters.deadLettered });
    dead += counters.deadLettered;
  }
  return { broker: { in: engine.counters.published, out: engine.counters.delivered, dead }, queues };
}
