import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { transition, type EntryFacts, type QueueEvent } from '../../core/engine/entry-state.ts';

const limits = { maxRedelivery: 2 };
const ready = (deliveryCount = 0, dmqEligible = true): EntryFacts => ({ state: 'ready', deliveryCount, dmqEligible });
const inFlight = (deliveryCount = 1, dmqEligible = true): EntryFacts => ({
  state: 'in-flight',
  deliveryCount,
  dmqEligible,
});

describe('queue entry state machine', () => {
  test('deliver moves a ready entry in flight and counts the attempt', () => {
    assert.deepEqual(transition(ready(0), { type: 'deliver' }, limits), { kind: 'mark-in-flight', deliveryCount: 1 });
  });

  test('ack removes an in-flight entry', () => {
    assert.deepEqual(transition(inFlight(), { type: 'ack' }, limits), { kind: 'remove' });
  });

  test('released entry returns to ready without counting the attempt', () => {
    assert.deepEqual(transition(inFlight(2), { type: 'release' }, limits), { kind: 'make-ready', deliveryCount: 1 });
  });

  test('a failed delivery returns to ready with its count kept while under max redelivery', () => {
    assert.deepEqual(transition(inFlight(2), { type: 'fail' }, limits), { kind: 'make-ready', deliveryCount: 2 });
  });

  test('max redelivery moves the entry to the DMQ with reason max-redelivery', () => {
    assert.deepEqual(transition(inFlight(4), { type: 'fail' }, limits), {
      kind: 'dead-letter',
      reason: 'max-redelivery',
    });
  });

  test('a ready entry that already had every allowed delivery is dead-lettered instead of delivered again', () => {
    // A broker restart mid-delivery turns the in-flight entry back to ready with its count kept.
    assert.deepEqual(transition(ready(3), { type: 'deliver' }, limits), {
      kind: 'dead-letter',
      reason: 'max-redelivery',
    });
    assert.deepEqual(transition(ready(2), { type: 'deliver' }, limits), { kind: 'mark-in-flight', deliveryCount: 3 });
  });

  test('reject dead-letters with reason rejected', () => {
    assert.deepEqual(transition(inFlight(), { type: 'reject' }, limits), { kind: 'dead-letter', reason: 'rejected' });
  });

  test('an expired ready entry is dead-lettered with reason ttl-expired', () => {
    assert.deepEqual(transition(ready(), { type: 'expire' }, limits), { kind: 'dead-letter', reason: 'ttl-expired' });
  });

  test('a message that is not DMQ-eligible is discarded instead of dead-lettered', () => {
    assert.deepEqual(transition(inFlight(1, false), { type: 'reject' }, limits), {
      kind: 'discard',
      reason: 'rejected',
    });
    assert.deepEqual(transition(ready(0, false), { type: 'expire' }, limits), {
      kind: 'discard',
      reason: 'ttl-expired',
    });
  });

  test('drop-oldest eviction discards even a DMQ-eligible entry', () => {
    assert.deepEqual(transition(ready(), { type: 'evict' }, limits), { kind: 'discard', reason: 'overflow' });
  });

  test('settling an entry that is not in flight is illegal', () => {
    for (const type of ['ack', 'release', 'fail', 'reject'] as const)
      assert.equal(transition(ready(), { type }, limits).kind, 'illegal');
    assert.equal(transition(inFlight(), { type: 'deliver' }, limits).kind, 'illegal');
  });

  test('any sequence of legal events delivers at most maxRedelivery + 1 times before the DMQ (property)', () => {
    const settle = fc.constantFrom<QueueEvent['type']>('fail', 'release', 'fail');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(settle, { maxLength: 40 }), (maxRedelivery, settlements) => {
        let entry: EntryFacts = ready();
        let countedFailures = 0;
        for (const settlement of settlements) {
          const delivered = transition(entry, { type: 'deliver' }, { maxRedelivery });
          assert.equal(delivered.kind, 'mark-in-flight');
          if (delivered.kind !== 'mark-in-flight') return;
          entry = { ...entry, state: 'in-flight', deliveryCount: delivered.deliveryCount };
          const effect = transition(entry, { type: settlement as 'fail' | 'release' }, { maxRedelivery });
          if (settlement === 'fail') countedFailures++;
          if (effect.kind === 'dead-letter') {
            assert.equal(countedFailures, maxRedelivery + 1);
            return;
          }
          assert.equal(effect.kind, 'make-ready');
          if (effect.kind === 'make-ready') entry = { ...entry, state: 'ready', deliveryCount: effect.deliveryCount };
          assert.ok(countedFailures <= maxRedelivery);
        }
      }),
    );
  });
});
