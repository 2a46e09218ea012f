import { describe, expect, test } from 'vitest';
import { compose, emptyCompose, parseHeaders } from './compose.ts';
import { batches, deadFilterOf, emptyDeadFilter, selectionOf, toggled } from './dead-filter.ts';
import { configOf, fieldsOf, newQueueFields, subscriptionsOf, updateOf } from './queue-form.ts';
import { emptyReplay, replaySpecOf, timeAtShare, timelineShare } from './replay-form.ts';

describe('dead-message filter', () => {
  test('empty fields are not sent; the contract wants all: true for everything', () => {
    const parsed = deadFilterOf(emptyDeadFilter);
    expect(parsed).toEqual({ ok: true, filter: {} });
    expect(selectionOf({})).toEqual({ all: true });
    expect(selectionOf({ queue: 'orders' })).toEqual({ filter: { queue: 'orders' } });
  });
  test('queue, reason, topic and times become the contract filter', () => {
    const parsed = deadFilterOf({
      queue: 'orders',
      reason: 'rejected',
      topic: ' plant/+/orders ',
      from: '2026-11-26T06:00:00',
      until: '',
    });
    expect(parsed.ok && parsed.filter).toEqual({
      queue: 'orders',
      reason: 'rejected',
      topic: 'plant/+/orders',
      deadFrom: new Date('2026-11-26T06:00:00').getTime(),
    });
  });
  test('a from after the until is refused', () => {
    const parsed = deadFilterOf({ ...emptyDeadFilter, from: '2026-11-26T07:00', until: '2026-11-26T06:00' });
    expect(parsed.ok).toBe(false);
  });
  test('selection toggles and batches split', () => {
    expect([...toggled(toggled(new Set(['1']), '2'), '1')]).toEqual(['2']);
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

describe('compose a message', () => {
  test('JSON is checked and gets its content type', () => {
    expect(compose({ ...emptyCompose, topic: 'a', payload: '{bad', format: 'json' }).ok).toBe(false);
    const ok = compose({ ...emptyCompose, topic: 'a', payload: '{"t":1}', format: 'json' });
    expect(ok.ok && ok.input).toMatchObject({ contentType: 'application/json', payloadEncoding: 'utf8' });
  });
  test('hex becomes base64 bytes', () => {
    const ok = compose({ ...emptyCompose, topic: 'a', payload: '48 69 0a', format: 'hex' });
    expect(ok.ok && ok.input).toMatchObject({ payload: 'SGkK', payloadEncoding: 'base64' });
    expect(compose({ ...emptyCompose, topic: 'a', payload: '4', format: 'hex' }).ok).toBe(false);
  });
  test('TTL seconds become ms; priority, headers and DMQ eligibility pass through', () => {
    const ok = compose({
      ...emptyCompose,
      topic: ' t ',
      ttlSeconds: '1.5',
      priority: '7',
      headers: 'line: 4\n\nshift: night',
      dmqEligible: false,
    });
    expect(ok.ok && ok.input).toEqual({
      topic: 't',
      payload: '',
      payloadEncoding: 'utf8',
      dmqEligible: false,
      ttlMs: 1500,
      priority: 7,
      headers: { line: '4', shift: 'night' },
    });
    expect(compose({ ...emptyCompose, topic: 't', priority: '12' }).ok).toBe(false);
    expect(compose({ ...emptyCompose, topic: '' }).ok).toBe(false);
  });
  test('a header line without a colon names its line', () => {
    expect(parseHeaders('a: 1\nnope')).toBe('Header line 2 needs the form "name: value".');
  });
});

describe('queue form', () => {
  test('a queue round-trips through the form', () => {
    const config = {
      subscriptions: ['a/#', 'b/+'],
      maxDepthMessages: 500,
      maxDepthBytes: 2 * 1024 * 1024,
      overflow: 'dead-letter' as const,
      maxRedelivery: 3,
      defaultTtlMs: 60_000,
      deadMessageQueue: '#DMQ',
      accessType: 'exclusive' as const,
    };
    expect(configOf(fieldsOf({ name: 'q', config }))).toEqual({ ok: true, config });
  });
  test('an update names only what changed', () => {
    const parsed = configOf(newQueueFields);
    if (!parsed.ok) throw new Error(parsed.problem);
    const after = { ...parsed.config, maxRedelivery: 2, subscriptions: ['x'] };
    expect(updateOf('q', parsed.config, after)).toEqual({ name: 'q', maxRedelivery: 2, subscriptions: ['x'] });
  });
  test('bad numbers are refused with the field named', () => {
    const parsed = configOf({ ...newQueueFields, maxRedelivery: '-1' });
    expect(!parsed.ok && parsed.problem).toMatch(/Max redelivery/);
    expect(subscriptionsOf('a/#\n a/# ,b\n\n')).toEqual(['a/#', 'b']);
  });
});

describe('replay form', () => {
  test('from a time, to the log end, with a topic filter', () => {
    const parsed = replaySpecOf({
      ...emptyReplay,
      queue: 'analytics',
      create: true,
      startKind: 'timestamp',
      startTime: '2026-11-26T06:00:00',
      topicFilter: 'plant/#',
    });
    expect(parsed.ok && parsed.spec).toEqual({
      target: { queue: 'analytics', create: {} },
      start: { kind: 'timestamp', at: new Date('2026-11-26T06:00:00').getTime() },
      topicFilter: 'plant/#',
    });
  });
  test('an end before the start, a missing time or a bad id is refused', () => {
    const base = { ...emptyReplay, queue: 'q', startKind: 'timestamp' as const, startTime: '2026-11-26T06:00' };
    expect(replaySpecOf({ ...base, endKind: 'timestamp', endTime: '2026-11-26T05:00' }).ok).toBe(false);
    expect(replaySpecOf({ ...base, startTime: '' }).ok).toBe(false);
    expect(replaySpecOf({ ...emptyReplay, queue: 'q', startKind: 'message-id', startId: 'abc' }).ok).toBe(false);
    expect(replaySpecOf({ ...emptyReplay }).ok).toBe(false);
  });
  test('the timeline maps times to shares and back', () => {
    expect(timelineShare(150, 100, 200)).toBe(0.5);
    expect(timelineShare(50, 100, 200)).toBe(0);
    expect(timeAtShare(0.25, 100, 200)).toBe(125);
  });
});
