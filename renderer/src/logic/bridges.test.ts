import { describe, expect, test } from 'vitest';
import type { WireQueueInfo } from '../../../core/api/contract.ts';
import { viewFromHash, viewIndexOfKey, viewKey, views, queueFromHash, queueHref } from '../views/routes.ts';
import { computeAlarms } from './alarms.ts';
import {
  backlogShare,
  backlogText,
  bridgeAlarmDetail,
  bridgeAlarms,
  lastSuccessText,
  stateBadge,
  type WireBridge,
} from './bridges.ts';

const now = 1_800_000_000_000;

const bridge = (over: Partial<WireBridge> = {}): WireBridge => ({
  name: 'plant',
  protocol: 'mqtt',
  direction: 'out',
  upstream: 'mqtt://127.0.0.1:9',
  state: 'waiting',
  connected: false,
  queue: 'bridge/plant',
  backlog: 1,
  backlogBytes: 12,
  backlogLimitMessages: 1_000_000,
  backlogLimitBytes: 1024 ** 3,
  overflow: 'reject-publisher',
  inFlight: 0,
  forwarded: 0,
  received: 0,
  forwardRatePerSecond: 0,
  receiveRatePerSecond: 0,
  resent: 0,
  refused: 0,
  loopsPrevented: 0,
  unmatched: 0,
  connects: 0,
  connectFailures: 4,
  lastError: { message: 'connect ECONNREFUSED 127.0.0.1:9', at: now - 1000 },
  lastSuccessAt: null,
  sinceLastSuccessMs: 45_300,
  connectedSince: null,
  disconnectedSince: now - 45_000,
  nextAttemptAt: null,
  alarms: ['disconnected'],
  ...over,
});

describe('bridge alarms', () => {
  test('refused credentials are an error; disconnected, backlog-high and refused messages warn', () => {
    const alarms = bridgeAlarms(
      [bridge({ alarms: ['credentials-refused', 'backlog-high', 'messages-refused'], refused: 3, backlog: 900_000 })],
      now,
    );
    expect(alarms.map((a) => [a.severity, a.text])).toEqual([
      ['danger', 'Bridge plant: the upstream refused the credentials'],
      ['warn', 'Bridge plant: backlog 90% of its limit'],
      ['warn', 'Bridge plant: the upstream refused 3 messages (dead-lettered)'],
    ]);
    expect(new Set(alarms.map((a) => a.view))).toEqual(new Set(['bridges']));
    expect(new Set(alarms.map((a) => a.key)).size).toBe(3);
  });

  test('disconnected says for how long; the detail names upstream, backlog vs limit, last success and error', () => {
    const [alarm] = bridgeAlarms([bridge()], now);
    expect(alarm?.text).toBe('Bridge plant is disconnected (for 45 s)');
    expect(alarm?.detail).toBe(
      'mqtt://127.0.0.1:9 · backlog 1 / 1,000,000 messages · no success yet (started 45 s ago) · last error: connect ECONNREFUSED 127.0.0.1:9',
    );
    expect(bridgeAlarmDetail(bridge({ lastError: null, lastSuccessAt: now - 5000, sinceLastSuccessMs: 5000 }))).toBe(
      'mqtt://127.0.0.1:9 · backlog 1 / 1,000,000 messages · last success 5 s ago',
    );
  });

  test('a bridge without alarms raises none; the Overview lists errors first', () => {
    expect(bridgeAlarms([bridge({ alarms: [], state: 'connected', connected: true })], now)).toEqual([]);
    const alarms = computeAlarms(
      [],
      [],
      [bridge({ name: 'a' }), bridge({ name: 'b', state: 'refused', alarms: ['credentials-refused'] })],
      now,
    );
    expect(alarms.map((a) => [a.severity, a.text.split(/[ :]/)[1]])).toEqual([
      ['danger', 'b'],
      ['warn', 'a'],
    ]);
  });

  test('a backlog queue at its limit is named once, by its bridge', () => {
    const full = {
      name: 'bridge/plant',
      depth: 95,
      inFlight: 0,
      consumers: 0,
      bytes: 0,
      config: { maxDepthMessages: 100, maxDepthBytes: 1e9, overflow: 'reject-publisher' },
    } as unknown as WireQueueInfo;
    const high = bridge({ backlog: 95, backlogLimitMessages: 100, alarms: ['backlog-high'] });
    const alarms = computeAlarms([full], [], [high], now);
    expect(alarms.map((a) => a.text)).toEqual(['Bridge plant: backlog 95% of its limit']);
    expect(computeAlarms([full], [], [], now)).toHaveLength(1);
  });
});

describe('bridge formatting', () => {
  test('backlog share is the larger of messages and bytes, 0 without limits', () => {
    expect(backlogShare(bridge({ backlog: 50, backlogLimitMessages: 100 }))).toBe(0.5);
    expect(backlogShare(bridge({ backlog: 1, backlogBytes: 768, backlogLimitBytes: 1024 }))).toBe(0.75);
    expect(backlogShare(bridge({ backlogLimitMessages: null, backlogLimitBytes: null }))).toBe(0);
  });
  test('backlog and last success read naturally', () => {
    expect(backlogText(bridge({ backlog: 1234, backlogLimitMessages: 5000 }))).toBe('1,234 / 5,000 messages');
    expect(backlogText(bridge({ backlog: 1, backlogLimitMessages: null }))).toBe('1 message');
    expect(lastSuccessText(bridge({ lastSuccessAt: now, sinceLastSuccessMs: 125_000 }))).toBe('last success 2 min ago');
    expect(lastSuccessText(bridge({ sinceLastSuccessMs: -5 }))).toBe('no success yet (started 0 s ago)');
  });
  test('the state badge says connected or disconnected, and why', () => {
    expect(stateBadge(bridge({ state: 'connected', connected: true }))).toEqual({ text: 'Connected', tone: 'ok' });
    expect(stateBadge(bridge({ state: 'waiting' }))).toEqual({ text: 'Disconnected · retrying', tone: 'danger' });
    expect(stateBadge(bridge({ state: 'refused' })).text).toBe('Disconnected · credentials refused');
    expect(stateBadge(bridge({ state: 'stopped' })).tone).toBe('warn');
  });
});

describe('Bridges route', () => {
  test('the tenth view is key 0; Bridges is reachable by key and hash', () => {
    const index = views.findIndex((v) => v.id === 'bridges');
    expect(viewKey(index)).toBe('0');
    expect(viewIndexOfKey('0')).toBe(index);
    expect(viewIndexOfKey('1')).toBe(0);
    expect(viewIndexOfKey('x')).toBeUndefined();
    expect(viewKey(8)).toBe('9');
    expect(viewFromHash('#/bridges')).toBe('bridges');
  });
  test('a bridge links to its backlog queue in the Queues view', () => {
    const href = queueHref('bridge/plant');
    expect(viewFromHash(href)).toBe('queues');
    expect(queueFromHash(href)).toBe('bridge/plant');
    expect(queueFromHash('#/queues')).toBeUndefined();
  });
});
