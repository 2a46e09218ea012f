import { z } from 'zod';

// Pure schema module (no Node APIs): the API contract and the UI show bridge status from it.

/** Where a bridge's connection stands. */
export const bridgeStates = [
  /** Opening the connection to the upstream. */
  'connecting',
  /** Connected: forwarding and/or receiving. */
  'connected',
  /** Not connected; the next attempt is scheduled (backoff). */
  'waiting',
  /** The upstream refused the credentials; retried at the longest backoff. */
  'refused',
  /** Disabled in the config, or the broker is closing. */
  'stopped',
] as const;

/** Alarms the UI raises for a bridge. */
export const bridgeAlarms = [
  /** Not connected for longer than the alarm delay. */
  'disconnected',
  /** The upstream refused the credentials. */
  'credentials-refused',
  /** The backlog queue is above 80 % of a limit. */
  'backlog-high',
  /** The upstream refused messages for good (they went to the DMQ). */
  'messages-refused',
  /** Not connected because the upstream answered an error the bridge cannot go on with (e.g. an unknown Kafka topic). */
  'upstream-error',
] as const;

/** One bridge's status, as the API, the CLI, the UI and the metrics show it. */
export const bridgeStatusSchema = z.object({
  name: z.string(),
  protocol: z.enum(['mqtt', 'amqp', 'kafka']),
  direction: z.enum(['out', 'in', 'both']),
  /** Upstream address without credentials. */
  upstream: z.string(),
  state: z.enum(bridgeStates),
  connected: z.boolean(),
  /** The engine queue holding the outbound backlog; null for inbound-only bridges. */
  queue: z.string().nullable(),
  /** Messages waiting to go upstream (ready + in flight). */
  backlog: z.number().int(),
  backlogBytes: z.number().int(),
  backlogLimitMessages: z.number().int().nullable(),
  backlogLimitBytes: z.number().int().nullable(),
  overflow: z.string().nullable(),
  /** Sent upstream and not yet acknowledged. */
  inFlight: z.number().int(),
  /** Acknowledged by the upstream, since start. */
  forwarded: z.number().int(),
  /** Published into Sluice from the upstream, since start. */
  received: z.number().int(),
  /** Messages per second over the last 10 s. */
  forwardRatePerSecond: z.number(),
  receiveRatePerSecond: z.number(),
  /** Sent again after a connection loss: the upstream may hold these twice (at-least-once). */
  resent: z.number().int(),
  /** Refused by the upstream for good and dead-lettered locally (e.g. MQTT 5 PUBACK 0x87). */
  refused: z.number().int(),
  /** Not forwarded or not published because they would loop (own origin, own bridge, hop limit). */
  loopsPrevented: z.number().int(),
  /** Inbound AMQP messages that matched no in.topics rule. */
  unmatched: z.number().int(),
  connects: z.number().int(),
  connectFailures: z.number().int(),
  /** The last failure; `kind` says whose it was (network, auth, protocol: the upstream's answer). */
  lastError: z
    .object({ message: z.string(), at: z.number(), kind: z.enum(['network', 'auth', 'protocol', 'local']).optional() })
    .nullable(),
  /** Time of the last upstream ack (outbound) or local commit (inbound). */
  lastSuccessAt: z.number().nullable(),
  /** Milliseconds since then, or since the bridge started when nothing succeeded yet. */
  sinceLastSuccessMs: z.number().int(),
  connectedSince: z.number().nullable(),
  /** When the connection was lost (or the bridge started) while not connected. */
  disconnectedSince: z.number().nullable(),
  /** When the next connection attempt is due, while waiting. */
  nextAttemptAt: z.number().nullable(),
  alarms: z.array(z.enum(bridgeAlarms)),
});

/** One bridge's status. */
export type BridgeStatus = z.infer<typeof bridgeStatusSchema>;
/** A bridge connection state. */
export type BridgeState = (typeof bridgeStates)[number];
/** A bridge alarm. */
export type BridgeAlarm = (typeof bridgeAlarms)[number];

/** A bridge raises `disconnected` after this long without a connection (short blips stay quiet). */
export const disconnectedAlarmMs = 30_000;

/** The alarms that hold for a status (without `alarms` filled in). */
export function alarmsFor(status: Omit<BridgeStatus, 'alarms'>, now: number): BridgeAlarm[] {
  const alarms: BridgeAlarm[] = [];
  if (status.state === 'refused') alarms.push('credentials-refused');
  else if (status.disconnectedSince !== null && now - status.disconnectedSince >= disconnectedAlarmMs)
    alarms.push('disconnected');
  const overMessages = status.backlogLimitMessages !== null && status.backlog >= 0.8 * status.backlogLimitMessages;
  const overBytes = status.backlogLimitBytes !== null && status.backlogBytes >= 0.8 * status.backlogLimitBytes;
  if (overMessages || overBytes) alarms.push('backlog-high');
  if (status.refused > 0) alarms.push('messages-refused');
  if (!status.connected && status.state !== 'stopped' && status.lastError?.kind === 'protocol')
    alarms.push('upstream-error');
  return alarms;
}

/** Prometheus text exposition (0.0.4) of bridge statuses, for the broker's `/metrics`. */
export function bridgeMetrics(statuses: readonly BridgeStatus[]): string {
  const families: Array<[string, 'gauge' | 'counter', string, (s: BridgeStatus) => number]> = [
    [
      'sluice_bridge_connected',
      'gauge',
      '1 when the bridge is connected to its upstream',
      (s) => (s.connected ? 1 : 0),
    ],
    ['sluice_bridge_backlog_messages', 'gauge', 'Messages waiting to go upstream', (s) => s.backlog],
    ['sluice_bridge_backlog_bytes', 'gauge', 'Bytes waiting to go upstream', (s) => s.backlogBytes],
    ['sluice_bridge_in_flight_messages', 'gauge', 'Sent upstream, not yet acknowledged', (s) => s.inFlight],
    ['sluice_bridge_forwarded_total', 'counter', 'Messages acknowledged by the upstream', (s) => s.forwarded],
    ['sluice_bridge_received_total', 'counter', 'Messages published into Sluice from the upstream', (s) => s.received],
    ['sluice_bridge_resent_total', 'counter', 'Messages sent again after a connection loss', (s) => s.resent],
    ['sluice_bridge_refused_total', 'counter', 'Messages the upstream refused for good', (s) => s.refused],
    ['sluice_bridge_loops_prevented_total', 'counter', 'Messages held back to prevent a loop', (s) => s.loopsPrevented],
    ['sluice_bridge_connects_total', 'counter', 'Successful connections to the upstream', (s) => s.connects],
    ['sluice_bridge_connect_failures_total', 'counter', 'Failed connection attempts', (s) => s.connectFailures],
    [
      'sluice_bridge_last_success_timestamp_seconds',
      'gauge',
      'Time of the last upstream ack or inbound commit (0: none yet)',
      (s) => (s.lastSuccessAt ?? 0) / 1000,
    ],
    ['sluice_bridge_alarms', 'gauge', 'Number of alarms raised for the bridge', (s) => s.alarms.length],
  ];
  const lines: string[] = [];
  for (const [name, type, help, value] of families) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const status of statuses) lines.push(`${name}{bridge="${escapeLabel(status.name)}"} ${value(status)}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
