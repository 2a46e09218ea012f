import { describe, expect, test, vi } from 'vitest';
import type { MessageEvent } from '../../../core/api/contract.ts';
import {
  BucketRing,
  downsample,
  formatValue,
  niceRange,
  numericFields,
  parsePins,
  readPayload,
  valueAt,
  ValueHistory,
} from './value-history.ts';

let nextId = 1;
const message = (topic: string, payload: string, timestamp: number, truncated = false): MessageEvent => ({
  type: 'message',
  id: String(nextId++),
  topic,
  timestamp,
  size: payload.length,
  headers: {},
  payload,
  payloadEncoding: 'utf8',
  truncated,
});

describe('reading numbers from payloads', () => {
  test('a bare number is the value itself, with surrounding space allowed', () => {
    expect(readPayload(' 21.5\n', 'utf8')).toBe(21.5);
    expect(valueAt(readPayload('-3e2', 'utf8'), '')).toBe(-300);
  });

  test('text, empty and binary payloads have no value', () => {
    expect(readPayload('hello', 'utf8')).toBeUndefined();
    expect(readPayload('', 'utf8')).toBeUndefined();
    expect(readPayload('NaN', 'utf8')).toBeUndefined();
    expect(readPayload('AQID', 'base64')).toBeUndefined();
    expect(readPayload('{"temperature": 2', 'utf8')).toBeUndefined();
  });

  test('a JSON field is found by its dot path, array items by index', () => {
    const data = readPayload('{"temperature": 21.25, "values": {"pressure": 1.013, "list": [4, 5]}}', 'utf8');
    expect(valueAt(data, 'temperature')).toBe(21.25);
    expect(valueAt(data, 'values.pressure')).toBe(1.013);
    expect(valueAt(data, 'values.list.1')).toBe(5);
    expect(valueAt(data, 'values')).toBeUndefined();
    expect(valueAt(data, 'missing.deeper')).toBeUndefined();
    expect(valueAt(data, '')).toBeUndefined();
  });

  test('strings and booleans are not numbers', () => {
    const data = readPayload('{"a": "12", "b": true, "c": null}', 'utf8');
    expect(valueAt(data, 'a')).toBeUndefined();
    expect(valueAt(data, 'b')).toBeUndefined();
    expect(valueAt(data, 'c')).toBeUndefined();
  });

  test('numeric fields are listed in payload order, nested ones by path', () => {
    const data = readPayload(
      '{"id": "s1", "temperature": 21, "values": {"pressure": 1, "ok": true}, "n": [7]}',
      'utf8',
    );
    expect(numericFields(data)).toEqual(['temperature', 'values.pressure', 'n.0']);
    expect(numericFields(42)).toEqual(['']);
    expect(numericFields('text')).toEqual([]);
    expect(numericFields({ a: 1, b: 2, c: 3 }, 2)).toEqual(['a', 'b']);
  });
});

describe('bucket ring', () => {
  test('samples in one time bucket merge into its min, max, last and count', () => {
    const ring = new BucketRing(10, 100);
    ring.add(1000, 5);
    ring.add(1010, 9);
    ring.add(1050, 1);
    ring.add(1099, 4);
    expect(ring.buckets()).toEqual([{ from: 1000, min: 1, max: 9, last: 4, lastAt: 1099, count: 4 }]);
    ring.add(1100, 7);
    expect(ring.size).toBe(2);
  });

  test('memory is bounded: past capacity the oldest buckets are overwritten', () => {
    const ring = new BucketRing(50, 100);
    for (let i = 0; i < 100_000; i++) ring.add(i, i % 17);
    expect(ring.size).toBe(50);
    expect(ring.samples).toBe(100_000);
    const buckets = ring.buckets();
    expect(buckets).toHaveLength(50);
    expect(buckets[0]!.from).toBe(95_000);
    expect(buckets.at(-1)!.from).toBe(99_900);
    expect(buckets.every((b, i) => i === 0 || b.from > buckets[i - 1]!.from)).toBe(true);
  });

  test('a sample from before the newest bucket joins the newest bucket (time never runs backwards)', () => {
    const ring = new BucketRing(10, 100);
    ring.add(1000, 1);
    ring.add(1200, 2);
    ring.add(1100, 99);
    expect(ring.buckets().map((b) => [b.from, b.max])).toEqual([
      [1000, 1],
      [1200, 99],
    ]);
  });

  test('window stats cover only the buckets inside the window', () => {
    const ring = new BucketRing(100, 100);
    ring.add(0, 1000);
    ring.add(5000, 3);
    ring.add(5100, -2);
    ring.add(5250, 8);
    expect(ring.stats(4000)).toEqual({ min: -2, max: 8, last: 8, lastAt: 5250, count: 3 });
    expect(ring.stats()).toMatchObject({ max: 1000, count: 4 });
    expect(ring.stats(6000)).toBeUndefined();
  });
});

describe('downsampling by time bucket', () => {
  test('a one-sample spike survives merging into few columns', () => {
    const ring = new BucketRing(1000, 10);
    for (let t = 0; t < 10_000; t++) ring.add(t, t === 4321 ? 500 : t === 7000 ? -500 : 20 + (t % 3));
    const columns = downsample(ring.buckets(), 0, 10_000, 20);
    expect(columns).toHaveLength(20);
    expect(Math.max(...columns.map((c) => c.max))).toBe(500);
    expect(Math.min(...columns.map((c) => c.min))).toBe(-500);
    expect(columns[8]!.max).toBe(500); // 4321 ms falls in column 8 of 500 ms columns
    expect(columns.reduce((sum, c) => sum + c.count, 0)).toBe(10_000);
    expect(columns.at(-1)!.last).toBe(20 + (9999 % 3));
  });

  test('buckets outside the window are left out', () => {
    const ring = new BucketRing(100, 100);
    for (const t of [0, 1000, 2000, 3000]) ring.add(t, t);
    expect(downsample(ring.buckets(), 1000, 3000, 10).map((c) => c.last)).toEqual([1000, 2000]);
  });

  test('sparse buckets each keep their own column when there is room', () => {
    const ring = new BucketRing(100, 100);
    for (const t of [0, 1000, 2000]) ring.add(t, t / 100);
    expect(downsample(ring.buckets(), 0, 3000, 300).map((c) => [c.from, c.last])).toEqual([
      [0, 0],
      [1000, 10],
      [2000, 20],
    ]);
  });
});

describe('value history', () => {
  test('only watched topics are sampled, each watched field from one parse of the payload', () => {
    const history = new ValueHistory();
    const topics = history.watch([
      { topic: 'plant/s1', field: 'temperature' },
      { topic: 'plant/s1', field: 'values.pressure' },
      { topic: 'plant/s2', field: '' },
    ]);
    expect(topics).toEqual(['plant/s1', 'plant/s2']);
    history.ingest(message('plant/s1', '{"temperature": 21.5, "values": {"pressure": 2}}', 1000), 1010);
    history.ingest(message('plant/s1', '{"temperature": 22}', 1001), 1011);
    history.ingest(message('plant/s2', '7', 1002), 1012);
    history.ingest(message('plant/other', '7', 1003), 1013);
    expect(history.get({ topic: 'plant/s1', field: 'temperature' })!.ring.stats()).toMatchObject({
      min: 21.5,
      max: 22,
      last: 22,
      count: 2,
    });
    const pressure = history.get({ topic: 'plant/s1', field: 'values.pressure' })!;
    expect(pressure.ring.stats()?.count).toBe(1);
    expect(pressure.skipped).toBe(1);
    expect(history.get({ topic: 'plant/s2', field: '' })!.ring.stats()?.last).toBe(7);
    expect(history.get({ topic: 'plant/other', field: '' })).toBeUndefined();
  });

  test('re-watching keeps the samples of series still watched and drops the others', () => {
    const history = new ValueHistory();
    history.watch([
      { topic: 'a', field: 'x' },
      { topic: 'b', field: '' },
    ]);
    history.ingest(message('a', '{"x": 1}', 1000));
    history.ingest(message('b', '2', 1000));
    expect(history.watch([{ topic: 'a', field: 'x' }])).toEqual(['a']);
    expect(history.get({ topic: 'a', field: 'x' })!.ring.samples).toBe(1);
    expect(history.get({ topic: 'b', field: '' })).toBeUndefined();
  });

  test('a truncated payload is not read (its JSON is cut)', () => {
    const history = new ValueHistory();
    history.watch([{ topic: 'a', field: '' }]);
    history.ingest(message('a', '12345', 1000, true));
    expect(history.get({ topic: 'a', field: '' })!.skipped).toBe(1);
  });

  test("the charts' right edge follows the broker's clock, estimated from the smallest delay seen", () => {
    const history = new ValueHistory();
    history.watch([{ topic: 'a', field: '' }]);
    expect(history.now(5000)).toBe(5000);
    history.ingest(message('a', '1', 10_000), 7_050);
    history.ingest(message('a', '1', 10_100), 7_120);
    expect(history.now(8_000)).toBe(10_980); // the second arrived 30 ms sooner after its send: 2 980 ms offset
  });
});

describe('axis and numbers', () => {
  test('the y range encloses the values with round ends; a flat series gets room', () => {
    const range = niceRange(20.1, 24.7);
    expect(range.low).toBeLessThanOrEqual(20.1);
    expect(range.high).toBeGreaterThanOrEqual(24.7);
    const flat = niceRange(5, 5);
    expect(flat.low).toBeLessThan(5);
    expect(flat.high).toBeGreaterThan(5);
  });

  test('values read without float noise', () => {
    expect(formatValue(21.25)).toBe('21.25');
    expect(formatValue(0.1 + 0.2)).toBe('0.3');
    expect(formatValue(-1500)).toBe('-1500');
  });
});

describe('redraws and pins', () => {
  test('listeners hear of samples at most once per interval, and once a second when nothing came', () => {
    vi.useFakeTimers();
    try {
      const history = new ValueHistory(250);
      history.watch([{ topic: 'a', field: '' }]);
      let heard = 0;
      const stop = history.subscribe(() => heard++);
      vi.advanceTimersByTime(250);
      const afterWatch = heard; // watching is a change itself
      for (let i = 0; i < 1000; i++) history.ingest(message('a', String(i), 1000 + i));
      vi.advanceTimersByTime(250);
      expect(heard).toBe(afterWatch + 1);
      vi.advanceTimersByTime(750); // idle: no sample, not yet a second
      expect(heard).toBe(afterWatch + 1);
      vi.advanceTimersByTime(250);
      expect(heard).toBe(afterWatch + 2);
      stop();
      history.ingest(message('a', '1', 5000));
      vi.advanceTimersByTime(5000);
      expect(heard).toBe(afterWatch + 2);
    } finally {
      vi.useRealTimers();
    }
  });

  test('stored pins are read back without duplicates or malformed entries, four at most', () => {
    expect(parsePins(null)).toEqual([]);
    expect(parsePins('not json')).toEqual([]);
    expect(parsePins('{"topic": "a"}')).toEqual([]);
    const stored = JSON.stringify([
      { topic: 'a', field: 'x' },
      { topic: 'a', field: 'x' },
      { topic: '', field: 'x' },
      { topic: 'b' },
      null,
      { topic: 'b', field: '' },
      { topic: 'c', field: 'y' },
      { topic: 'd', field: 'z' },
      { topic: 'e', field: 'w' },
    ]);
    expect(parsePins(stored)).toEqual([
      { topic: 'a', field: 'x' },
      { topic: 'b', field: '' },
      { topic: 'c', field: 'y' },
      { topic: 'd', field: 'z' },
    ]);
  });
});
