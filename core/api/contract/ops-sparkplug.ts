/**
 * Sparkplug B (3.0) operations: the state the broker tracks from `spBv1.0/…` traffic since it
 * started (groups, edge nodes, devices, metrics, sequence gaps, unknown aliases) and the
 * rebirth request that fixes a missed birth (docs/sparkplug.md). Browser-safe.
 */
import { z } from 'zod';
import { count, epochMs } from './primitives.ts';
import { api, operation, type Operation } from './operation.ts';
import { publishReceiptSchema } from './inputs.ts';

/** First topic level of every Sparkplug B topic (Sparkplug 3.0 §4.1.1). */
export const sparkplugNamespace = 'spBv1.0';

/**
 * A group, edge node or device id: non-empty UTF-8 without `/`, `+` or `#` (Sparkplug 3.0
 * §4.1.1.2–4: ids are single topic levels and may not be wildcards).
 */
export const sparkplugIdSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^/+#]+$/, 'A Sparkplug id is one topic level: no "/", "+" or "#"');

/** Online: born and not dead; offline: died; unknown: data seen but never a birth. */
export const sparkplugStateSchema = z.enum(['online', 'offline', 'unknown']);

/** One metric's last value, resolved by name through the last NBIRTH/DBIRTH. */
export const sparkplugMetricSchema = z.object({
  /** The metric's name; null when only an alias came and no birth named it. */
  name: z.string().nullable(),
  /** The alias the birth gave it (uint64, as a decimal string). */
  alias: z.string().nullable(),
  /** Sparkplug data type name (Int32, Double, Boolean, String…; `Unknown` when not given). */
  datatype: z.string(),
  /**
   * The value: numbers, booleans and text as such; 64-bit integers beyond 2^53 and arrays as
   * text; bytes as base64; data sets and templates as a one-line summary; null when is_null.
   */
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  /** The metric's own timestamp (ms since epoch), when it had one. */
  timestamp: epochMs.nullable(),
  /** When Sluice last saw it (ms since epoch). */
  updatedAt: epochMs,
});

/** A sequence-number gap (seq is 0–255, wrapping, per edge node; Sparkplug 3.0 §6.4.1). */
export const sparkplugGapSchema = z.object({
  expected: count,
  received: count,
  /** The message type that carried the unexpected number (NDATA, DBIRTH, NBIRTH for bdSeq…). */
  messageType: z.string(),
  at: epochMs,
});

/**
 * Why a node needs a rebirth: `unknown-alias`, data with an alias no birth named; `no-birth`,
 * data from a node or device that is not online (never born here, or dead since).
 */
export const sparkplugRebirthNeedSchema = z.object({
  reason: z.enum(['unknown-alias', 'no-birth']),
  /** The alias that could not be resolved (unknown-alias). */
  alias: z.string().nullable(),
  /** The device concerned, or null for the edge node itself. */
  device: z.string().nullable(),
  messageType: z.string(),
  at: epochMs,
});

/** A device under an edge node. */
export const sparkplugDeviceSchema = z.object({
  device: z.string(),
  state: sparkplugStateSchema,
  birthAt: epochMs.nullable(),
  deathAt: epochMs.nullable(),
  lastMessageAt: epochMs,
  messages: count,
  metricCount: count,
  /** Present when the state was asked with metrics. */
  metrics: z.array(sparkplugMetricSchema).optional(),
});

/** An edge node, its devices and its health. */
export const sparkplugNodeSchema = z.object({
  group: z.string(),
  node: z.string(),
  state: sparkplugStateSchema,
  /** The birth/death sequence number of the current session (the NBIRTH's bdSeq metric). */
  bdSeq: z.number().int().nullable(),
  /** The last seq received (0–255). */
  seq: z.number().int().nullable(),
  birthAt: epochMs.nullable(),
  deathAt: epochMs.nullable(),
  lastMessageAt: epochMs,
  messages: count,
  /** seq gaps since the broker started, and the last one. */
  seqGaps: count,
  lastSeqGap: sparkplugGapSchema.nullable(),
  /** bdSeq jumps between births (sessions missed), and the last one. */
  bdSeqGaps: count,
  lastBdSeqGap: sparkplugGapSchema.nullable(),
  /** NDEATHs ignored because their bdSeq was not the current session's (a late will of an old session). */
  staleDeaths: count,
  /** DATA messages with aliases no birth named, or from a node or device that was not online. */
  unknownAliasMessages: count,
  /** Set while a rebirth is needed; a new NBIRTH clears it. */
  rebirthNeeded: sparkplugRebirthNeedSchema.nullable(),
  /** When Sluice last asked for a rebirth (sparkplug.rebirth). */
  rebirthRequestedAt: epochMs.nullable(),
  /** Payloads on this node's topics that did not decode. */
  undecodable: count,
  metricCount: count,
  metrics: z.array(sparkplugMetricSchema).optional(),
  devices: z.array(sparkplugDeviceSchema),
});

/** A payload that did not decode. */
export const sparkplugUndecodableSchema = z.object({
  topic: z.string(),
  size: count,
  error: z.string(),
  at: epochMs,
});

/** A primary host application's STATE (Sparkplug 3.0 §7.5: JSON on spBv1.0/STATE/<host_id>). */
export const sparkplugHostSchema = z.object({
  host: z.string(),
  online: z.boolean(),
  /** The timestamp the host put in its STATE message. */
  timestamp: epochMs.nullable(),
  at: epochMs,
});

/** What sparkplug.state answers. */
export const sparkplugSnapshotSchema = z.object({
  /** Sorted by group, then node. */
  nodes: z.array(sparkplugNodeSchema),
  hosts: z.array(sparkplugHostSchema),
  totals: z.object({
    groups: count,
    nodes: count,
    nodesOnline: count,
    devices: count,
    devicesOnline: count,
    metrics: count,
    /** Every spBv1.0 message seen. */
    messages: count,
    /** Payloads that did not decode. */
    undecodable: count,
    /** spBv1.0 topics that are not Sparkplug topics (wrong levels, unknown message type). */
    invalidTopics: count,
    /** Messages for nodes, devices or metrics past the caps, not tracked. */
    untracked: count,
  }),
  limits: z.object({ maxNodes: count, maxDevices: count, maxMetrics: count, maxMetricsPerNode: count }),
  /** The last undecodable payloads, newest first. */
  recentUndecodable: z.array(sparkplugUndecodableSchema),
});

export const sparkplugOperations = {
  'sparkplug.state': operation({
    summary:
      'Sparkplug B state since the broker started: groups, edge nodes and devices with online/offline state, last metrics, seq/bdSeq gaps and unknown aliases',
    input: z.strictObject({
      group: sparkplugIdSchema.optional().meta({ description: 'Only nodes of this group' }),
      node: sparkplugIdSchema.optional().meta({ description: 'Only edge nodes with this id' }),
      metrics: z
        .boolean()
        .default(true)
        .meta({ description: 'Include each node and device metrics (false: the tree and counts only)' }),
    }),
    output: sparkplugSnapshotSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/sparkplug` },
    permission: {
      kind: 'acl',
      action: 'subscribe',
      resources: (input) => [`${sparkplugNamespace}/${input.group ?? '#'}${input.group !== undefined ? '/#' : ''}`],
    },
  }),
  'sparkplug.rebirth': operation({
    summary:
      'Ask an edge node to rebirth: publishes an NCMD with Node Control/Rebirth = true to spBv1.0/<group>/NCMD/<node>',
    input: z.strictObject({ group: sparkplugIdSchema, node: sparkplugIdSchema }),
    output: publishReceiptSchema.extend({ topic: z.string() }),
    errors: ['queue-full', 'store-full'],
    http: { method: 'POST', path: `${api}/sparkplug/groups/:group/nodes/:node:rebirth` },
    permission: {
      kind: 'acl',
      action: 'publish',
      resources: (input) => [`${sparkplugNamespace}/${input.group}/NCMD/${input.node}`],
    },
  }),
} as const satisfies Record<string, Operation>;
