/**
 * Bridge status as the UI words it: the Overview's alarm lines (one per alarm the broker raises
 * for a bridge) and the Bridges view's backlog fill and "last success" wording. Pure, so the
 * severity mapping and the texts are unit-tested.
 */
import type { OperationOutput } from '../../../core/api/contract.ts';
import type { Alarm } from './alarm.ts';
import { count, duration } from './format.ts';

/** One bridge's status (core/schema/bridge-status.ts, over the API). */
export type WireBridge = OperationOutput<'bridges.status'>['bridges'][number];
/** One alarm the broker raises for a bridge. */
export type WireBridgeAlarm = WireBridge['alarms'][number];

/** How bad each bridge alarm is: refused credentials never heal by waiting; the rest may. */
export const bridgeAlarmSeverity: Record<WireBridgeAlarm, Alarm['severity']> = {
  'credentials-refused': 'danger',
  disconnected: 'warn',
  'backlog-high': 'warn',
  'messages-refused': 'warn',
  'upstream-error': 'danger',
};

/** The backlog's fill: the larger of its message and byte share of the limits (0 without limits). */
export function backlogShare(
  bridge: Pick<WireBridge, 'backlog' | 'backlogBytes' | 'backlogLimitMessages' | 'backlogLimitBytes'>,
): number {
  const messages = bridge.backlogLimitMessages ? bridge.backlog / bridge.backlogLimitMessages : 0;
  const bytes = bridge.backlogLimitBytes ? bridge.backlogBytes / bridge.backlogLimitBytes : 0;
  return Math.max(messages, bytes);
}

/** "1 / 1,000,000 messages", or "1 message" for an inbound bridge without a backlog limit. */
export function backlogText(bridge: Pick<WireBridge, 'backlog' | 'backlogLimitMessages'>): string {
  const noun = bridge.backlogLimitMessages === null && bridge.backlog === 1 ? 'message' : 'messages';
  return bridge.backlogLimitMessages === null
    ? `${count(bridge.backlog)} ${noun}`
    : `${count(bridge.backlog)} / ${count(bridge.backlogLimitMessages)} ${noun}`;
}

/** "last success 12 s ago", or "no success yet (started 40 s ago)". */
export function lastSuccessText(bridge: Pick<WireBridge, 'lastSuccessAt' | 'sinceLastSuccessMs'>): string {
  const since = duration(Math.max(0, bridge.sinceLastSuccessMs));
  return bridge.lastSuccessAt === null ? `no success yet (started ${since} ago)` : `last success ${since} ago`;
}

/** A state as a badge: what it says and its tone. */
export function stateBadge(bridge: Pick<WireBridge, 'state' | 'connected'>): {
  text: string;
  tone: 'ok' | 'warn' | 'danger';
} {
  if (bridge.connected) return { text: 'Connected', tone: 'ok' };
  switch (bridge.state) {
    case 'connecting':
      return { text: 'Disconnected · connecting…', tone: 'danger' };
    case 'waiting':
      return { text: 'Disconnected · retrying', tone: 'danger' };
    case 'refused':
      return { text: 'Disconnected · credentials refused', tone: 'danger' };
    case 'stopped':
      return { text: 'Stopped', tone: 'warn' };
    default:
      return { text: 'Disconnected', tone: 'danger' };
  }
}

/** The headline of one bridge alarm. */
export function bridgeAlarmHeadline(bridge: WireBridge, alarm: WireBridgeAlarm, now = Date.now()): string {
  switch (alarm) {
    case 'credentials-refused':
      return `Bridge ${bridge.name}: the upstream refused the credentials`;
    case 'disconnected':
      return bridge.disconnectedSince === null
        ? `Bridge ${bridge.name} is disconnected`
        : `Bridge ${bridge.name} is disconnected (for ${duration(Math.max(0, now - bridge.disconnectedSince))})`;
    case 'backlog-high':
      return `Bridge ${bridge.name}: backlog ${Math.round(backlogShare(bridge) * 100)}% of its limit`;
    case 'messages-refused':
      return `Bridge ${bridge.name}: the upstream refused ${count(bridge.refused)} ${bridge.refused === 1 ? 'message' : 'messages'} (dead-lettered)`;
    case 'upstream-error':
      return `Bridge ${bridge.name}: the upstream answered an error (retrying): ${bridge.lastError?.message ?? ''}`;
  }
}

/** The detail line every bridge alarm carries: upstream, backlog vs limit, last success, last error. */
export function bridgeAlarmDetail(bridge: WireBridge): string {
  const parts = [bridge.upstream, `backlog ${backlogText(bridge)}`, lastSuccessText(bridge)];
  if (bridge.lastError) parts.push(`last error: ${bridge.lastError.message}`);
  return parts.join(' · ');
}

/** One Overview alarm per alarm the broker raises for a bridge, in the broker's order. */
export function bridgeAlarms(bridges: readonly WireBridge[], now = Date.now()): Alarm[] {
  return bridges.flatMap((bridge) =>
    bridge.alarms.map((alarm): Alarm => ({
      severity: bridgeAlarmSeverity[alarm],
      text: bridgeAlarmHeadline(bridge, alarm, now),
      detail: bridgeAlarmDetail(bridge),
      view: 'bridges',
      key: `bridge:${bridge.name}:${alarm}`,
    })),
  );
}
