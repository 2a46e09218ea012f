// What the crash test's parent and child agree on: the queue, its config, payloads, the PRNG.
import type { QueueConfigInput } from '../../core/engine/queue.ts';

/** The one queue every crash-test message lands in. */
export const crashQueue = 'crash-orders';

/** Low max redelivery so some messages reach the DMQ mid-test: exactly-once must hold across it too. */
export const crashQueueConfig: QueueConfigInput = { subscriptions: ['crash/#'], maxRedelivery: 3 };

/** A 200-byte payload that names its sequence label, so the parent can check content as well as presence. */
export function payloadFor(seq: string): string {
  return `seq=${seq};`.padEnd(200, '.');
}

/** mulberry32: a tiny seeded PRNG, so a failing run can be repeated with SLUICE_CRASH_SEED. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
