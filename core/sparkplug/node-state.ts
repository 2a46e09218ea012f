/**
 * The Sparkplug state model (docs/sparkplug.md): an edge node with its devices, each with a book
 * of metrics by name and by the aliases its birth gave, and how a node shows in sparkplug.state's
 * answer. The tracker that feeds it from spBv1.0 traffic is state.ts.
 */
import type { z } from 'zod';
import type {
  sparkplugGapSchema,
  sparkplugMetricSchema,
  sparkplugNodeSchema,
  sparkplugRebirthNeedSchema,
} from '../api/contract/ops-sparkplug.ts';
import { dataTypeName, metricValue, type ShownValue } from './metric-value.ts';
import type { SparkplugMetric } from './payload.ts';

/** A seq or bdSeq jump: what was expected, what came. */
export type Gap = z.infer<typeof sparkplugGapSchema>;
/** Why a node needs a rebirth (an alias no birth named, or data without a birth). */
export type RebirthNeed = z.infer<typeof sparkplugRebirthNeedSchema>;
type WireMetric = z.infer<typeof sparkplugMetricSchema>;
type WireNode = z.infer<typeof sparkplugNodeSchema>;

/** One metric's last value. */
export interface MetricState {
  name: string | null;
  alias: string | null;
  datatype: string;
  value: ShownValue;
  timestamp: number | null;
  updatedAt: number;
}

/** Metrics of a node or a device, by name, with the aliases its birth gave. */
export interface MetricBook {
  readonly byKey: Map<string, MetricState>;
  readonly byAlias: Map<string, MetricState>;
}

/** A device of an edge node. */
export interface DeviceState {
  readonly device: string;
  state: 'online' | 'offline' | 'unknown';
  birthAt: number | null;
  deathAt: number | null;
  lastMessageAt: number;
  messages: number;
  readonly metrics: MetricBook;
}

/** An edge node: its session (bdSeq, seq), its health counters, metrics and devices. */
export interface NodeState {
  readonly group: string;
  readonly node: string;
  state: 'online' | 'offline' | 'unknown';
  bdSeq: number | null;
  seq: number | null;
  birthAt: number | null;
  deathAt: number | null;
  lastMessageAt: number;
  messages: number;
  seqGaps: number;
  lastSeqGap: Gap | null;
  bdSeqGaps: number;
  lastBdSeqGap: Gap | null;
  staleDeaths: number;
  unknownAliasMessages: number;
  rebirthNeeded: RebirthNeed | null;
  rebirthRequestedAt: number | null;
  undecodable: number;
  readonly metrics: MetricBook;
  readonly devices: Map<string, DeviceState>;
}

/** An empty metric book. */
export const newBook = (): MetricBook => ({ byKey: new Map(), byAlias: new Map() });
/** The key of an edge node in the state: group and node id. */
export const nodeKey = (group: string, node: string) => `${group}\u0000${node}`;

/** A node first heard of: state unknown until its NBIRTH or NDEATH. */
export function newNode(group: string, id: string): NodeState {
  return {
    group,
    node: id,
    state: 'unknown',
    bdSeq: null,
    seq: null,
    birthAt: null,
    deathAt: null,
    lastMessageAt: 0,
    messages: 0,
    seqGaps: 0,
    lastSeqGap: null,
    bdSeqGaps: 0,
    lastBdSeqGap: null,
    staleDeaths: 0,
    unknownAliasMessages: 0,
    rebirthNeeded: null,
    rebirthRequestedAt: null,
    undecodable: 0,
    metrics: newBook(),
    devices: new Map(),
  };
}

/** A device first heard of at `at`: state unknown until its DBIRTH or DDEATH. */
export function newDevice(id: string, at: number): DeviceState {
  return {
    device: id,
    state: 'unknown',
    birthAt: null,
    deathAt: null,
    lastMessageAt: at,
    messages: 0,
    metrics: newBook(),
  };
}

/** A node as sparkplug.state answers it (copies, never the live state); metrics only when asked. */
export function wireNode(n: NodeState, withMetrics: boolean): WireNode {
  const { metrics: book, devices, ...fields } = n;
  return {
    ...fields,
    lastSeqGap: n.lastSeqGap && { ...n.lastSeqGap },
    lastBdSeqGap: n.lastBdSeqGap && { ...n.lastBdSeqGap },
    rebirthNeeded: n.rebirthNeeded && { ...n.rebirthNeeded },
    metricCount: book.byKey.size,
    ...(withMetrics && { metrics: wireMetrics(book) }),
    devices: [...devices.values()]
      .sort((a, b) => compare(a.device, b.device))
      .map(({ metrics: deviceBook, ...device }) => ({
        ...device,
        metricCount: deviceBook.byKey.size,
        ...(withMetrics && { metrics: wireMetrics(deviceBook) }),
      })),
  };
}

/** Takes a birth's or data message's value of one metric. */
export function updateMetric(state: MetricState, metric: SparkplugMetric, at: number): void {
  // DATA messages may leave the datatype out: the birth's stands (Sparkplug 3.0 §6.4.16).
  if (metric.datatype !== undefined) state.datatype = dataTypeName(metric.datatype);
  state.value = metricValue(metric, state.datatype);
  state.timestamp = metric.timestamp === undefined ? null : Number(metric.timestamp);
  state.updatedAt = at;
}

function wireMetrics(book: MetricBook): WireMetric[] {
  return [...book.byKey.values()]
    .map((m) => ({ ...m }))
    .sort((a, b) => compare(a.name ?? `#${a.alias ?? ''}`, b.name ?? `#${b.alias ?? ''}`));
}

/** Code-point order (stable whatever the locale). */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
