import { describe, expect, test } from 'vitest';
import type { WireQueueInfo, WireStats } from '../../../core/api/contract.ts';
import { changedAreas } from '../api/live.ts';
import { computeAlarms, fillShare } from './alarms.ts';
import { bytes, duration, rate } from './format.ts';
import { hexDump, parseHex, previewPayload, showPayload } from './payload.ts';
import { niceMax } from './rate-history.ts';
import { moveActive, scrollToReveal, visibleRange } from './windowing.ts';

describe('payloads', () => {
  test('JSON is pretty-printed, other text shown as is', () => {
    expect(showPayload('{"a":1}', 'utf8')).toEqual({ kind: 'json', text: '{\n  "a": 1\n}', bytes: 7 });
    expect(showPayload('{not json', 'utf8').kind).toBe('text');
    expect(showPayload('', 'utf8').kind).toBe('empty');
  });
  test('binary is a hex dump with offsets and printable ASCII', () => {
    expect(showPayload('SGkA/w==', 'base64')).toEqual({
      kind: 'binary',
      text: `00000000  ${'48 69 00 ff'.padEnd(23)}  ${''.padEnd(23)}  |Hi..|`,
      bytes: 4,
    });
    expect(hexDump(new Uint8Array(17)).split('\n')).toHaveLength(2);
    expect(previewPayload('AQID', 'base64')).toBe('01 02 03');
    expect(parseHex('0x01,0x02')).toEqual(new Uint8Array([1, 2]));
  });
});

describe('virtual list arithmetic', () => {
  test('only rows in view plus overscan are rendered', () => {
    expect(visibleRange(3600, 360, 36, 10_000, 2)).toEqual({ first: 98, last: 112 });
    expect(visibleRange(0, 0, 36, 0)).toEqual({ first: 0, last: 0 });
  });
  test('keys move the active row within bounds', () => {
    expect(moveActive('ArrowDown', 9, 10, 5)).toBe(9);
    expect(moveActive('PageUp', 3, 10, 5)).toBe(0);
    expect(moveActive('End', 0, 10, 5)).toBe(9);
    expect(moveActive('x', 0, 10, 5)).toBeUndefined();
  });
  test('an active row out of view scrolls just enough', () => {
    expect(scrollToReveal(20, 0, 360, 36)).toBe(20 * 36 + 36 - 360);
    expect(scrollToReveal(2, 0, 360, 36)).toBeUndefined();
    expect(scrollToReveal(0, 100, 360, 36)).toBe(0);
  });
});

const queue = (name: string, depth: number, max: number): WireQueueInfo =>
  ({
    name,
    depth,
    bytes: 0,
    config: { maxDepthMessages: max, maxDepthBytes: 1e9, overflow: 'reject-publisher' },
  }) as WireQueueInfo;

describe('alarms', () => {
  test('a queue near its limit warns; at it, it is danger, listed first', () => {
    const alarms = computeAlarms([queue('a', 85, 100), queue('b', 99, 100), queue('c', 10, 100)], []);
    expect(alarms.map((a) => [a.severity, a.text.split(' ')[1]])).toEqual([
      ['danger', 'b'],
      ['warn', 'a'],
    ]);
    expect(fillShare(queue('a', 50, 100))).toBe(0.5);
  });
  test('a growing DMQ is an alarm; a steady one is not', () => {
    expect(
      computeAlarms(
        [],
        [
          { at: 0, total: 3 },
          { at: 120_000, total: 3 },
        ],
      ),
    ).toEqual([]);
    const [alarm] = computeAlarms(
      [],
      [
        { at: 0, total: 3 },
        { at: 120_000, total: 8 },
      ],
    );
    expect(alarm?.text).toBe('Dead messages growing: +5 in the last 2 min (8 in total)');
  });
});

describe('live pulses', () => {
  const stats = (depth: number, dead: number) =>
    ({
      queues: [{ name: 'q', depth, inFlight: 0, consumers: 0, counters: {}, rates: { inPerSec: depth } }],
      dead: { total: dead, byQueue: [] },
    }) as unknown as WireStats;
  test('only areas whose state moved are pulsed', () => {
    expect(changedAreas(stats(1, 0), stats(1, 0))).toEqual(['stats']);
    expect(changedAreas(stats(1, 0), stats(2, 0))).toEqual(['stats', 'queues', 'replays']);
    expect(changedAreas(stats(1, 0), stats(1, 1))).toEqual(['stats', 'dead']);
  });
});

describe('formatting', () => {
  test('units always shown, sized to read at a distance', () => {
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(rate(12_345)).toBe('12.3k');
    expect(rate(2.25)).toBe('2.3');
    expect(duration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(niceMax(37)).toBe(50);
  });
});
