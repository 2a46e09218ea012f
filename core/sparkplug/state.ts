/**
 * The broker's Sparkplug B state (docs/sparkplug.md), fed with every message on `spBv1.0/…`
 * from the moment the broker starts, so the UI sees nodes that were born before it opened.
 *
 * Per edge node: online/offline from NBIRTH, NDEATH (the node's MQTT will, or sent explicitly)
 * and bdSeq; the last metrics by name, resolving aliases through the last NBIRTH/DBIRTH; seq
 * gaps (seq is 0–255, wrapping, per edge node across NBIRTH/NDATA/DBIRTH/DDATA/DDEATH, Sparkplug
 * 3.0 §6.4.1); DATA whose aliases no birth named (the birth was missed: a rebirth fixes it).
 *
 * Bounded memory: at most `maxNodes` edge nodes, `maxDevices` devices in all, `maxMetrics` metric
 * values in all and `maxMetricsPerNode` per node or device; text values are clipped to 1 KiB and
 * bytes to 256. What comes past a cap is counted in `untracked`, not kept.
 *
 * The nodes, devices and metric books it keeps, and their wire form, are node-state.ts.
 */
import type { z } from 'zod';
import type {
  sparkplugSnapshotSchema,
  sparkplugUndecodableSchema,
  sparkplugHostSchema,
} from '../api/contract/ops-sparkplug.ts';
import { maxTextChars } from './metric-value.ts';
import {
  compare,
  newDevice,
  newNode,
  nodeKey,
  updateMetric,
  wireNode,
  type DeviceState,
  type MetricBook,
  type NodeState,
  type RebirthNeed,
} from './node-state.ts';
import { decodePayload, type SparkplugPayload } from './payload.ts';
import { parseSparkplugTopic, type MessageType } from './topic.ts';

type Undecodable = z.infer<typeof sparkplugUndecodableSchema>;
type Host = z.infer<typeof sparkplugHostSchema>;
/** What the state answers (sparkplug.state's output). */
export type SparkplugSnapshot = z.infer<typeof sparkplugSnapshotSchema>;

/** Tracking limits. */
export interface SparkplugLimits {
  readonly maxNodes: number;
  readonly maxDevices: number;
  readonly maxMetrics: number;
  readonly maxMetricsPerNode: number;
}

/** Default limits (documented in docs/sparkplug.md). */
export const defaultSparkplugLimits: SparkplugLimits = {
  maxNodes: 1_000,
  maxDevices: 10_000,
  maxMetrics: 200_000,
  maxMetricsPerNode: 5_000,
};

/** Host applications tracked, and undecodable payloads remembered. */
const maxHosts = 100;
const recentUndecodableKept = 20;

/** A message as the state needs it (the engine's Message fits). */
export interface SparkplugInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  /** When the broker accepted it (ms since epoch). */
  readonly timestamp: number;
}

/** The Sparkplug state of every edge node seen since start, bounded. */
export class SparkplugState {
  private readonly nodes = new Map<string, NodeState>();
  private readonly hosts = new Map<string, Host>();
  private devices = 0;
  private metrics = 0;
  private messages = 0;
  private undecodable = 0;
  private invalidTopics = 0;
  private untracked = 0;
  private recentUndecodable: Undecodable[] = [];

  constructor(private readonly limits: SparkplugLimits = defaultSparkplugLimits) {}

  /** Takes one message on `spBv1.0/…` (the caller checks the prefix); never throws on bad input. */
  record(message: SparkplugInput): void {
    this.messages++;
    const topic = parseSparkplugTopic(message.topic);
    if (!topic) {
      this.invalidTopics++;
      return;
    }
    const at = message.timestamp;
    if (topic.kind === 'state') {
      this.recordHost(topic.host, message.payload, at);
      return;
    }
    let payload: SparkplugPayload;
    try {
      payload = decodePayload(message.payload);
    } catch (error) {
      this.recordUndecodable(message, error);
      return;
    }
    const node = this.nodeFor(topic.group, topic.node, topic.type);
    if (!node) return;
    node.messages++;
    node.lastMessageAt = at;
    if (topic.kind === 'node') this.onNodeMessage(node, topic.type, payload, at);
    else this.onDeviceMessage(node, topic.device, topic.type, payload, at);
  }

  /** Notes that a rebirth was asked of a node (sparkplug.rebirth). */
  rebirthRequested(group: string, node: string, at: number): void {
    const state = this.nodes.get(nodeKey(group, node));
    if (state) state.rebirthRequestedAt = at;
  }

  /** The state, nodes sorted by group then node; metrics only when asked. */
  snapshot(filter: { group?: string; node?: string; metrics: boolean }): SparkplugSnapshot {
    const all = [...this.nodes.values()];
    const nodes = all
      .filter((n) => (filter.group === undefined || n.group === filter.group) && (filter.node ?? n.node) === n.node)
      .sort((a, b) => (a.group === b.group ? compare(a.node, b.node) : compare(a.group, b.group)))
      .map((n) => wireNode(n, filter.metrics));
    let devicesOnline = 0;
    for (const n of all) for (const d of n.devices.values()) if (d.state === 'online') devicesOnline++;
    return {
      nodes,
      hosts: [...this.hosts.values()].sort((a, b) => compare(a.host, b.host)),
      totals: {
        groups: new Set(all.map((n) => n.group)).size,
        nodes: all.length,
        nodesOnline: all.filter((n) => n.state === 'online').length,
        devices: this.devices,
        devicesOnline,
        metrics: this.metrics,
        messages: this.messages,
        undecodable: this.undecodable,
        invalidTopics: this.invalidTopics,
        untracked: this.untracked,
      },
      limits: { ...this.limits },
      recentUndecodable: [...this.recentUndecodable],
    };
  }

  // ── node and device messages ─────────────────────────────────────────────────────

  private onNodeMessage(node: NodeState, type: MessageType, payload: SparkplugPayload, at: number): void {
    switch (type) {
      case 'NBIRTH':
        return this.onNodeBirth(node, payload, at);
      case 'NDEATH':
        return this.onNodeDeath(node, payload, at);
      case 'NDATA':
        this.checkSeq(node, payload, type, at);
        this.onData(node, node.metrics, null, node.state !== 'online', payload, at);
        return;
      default:
        return; // NCMD: a command to the node, no state of its own
    }
  }

  private onDeviceMessage(
    node: NodeState,
    deviceId: string,
    type: MessageType,
    payload: SparkplugPayload,
    at: number,
  ): void {
    if (type === 'DCMD') return; // a command to the device, no state of its own
    this.checkSeq(node, payload, type, at);
    const device = this.deviceFor(node, deviceId, at);
    if (!device) return;
    device.messages++;
    device.lastMessageAt = at;
    switch (type) {
      case 'DBIRTH':
        this.clearBook(device.metrics);
        device.state = 'online';
        device.birthAt = at;
        this.applyData(device.metrics, payload, true, at);
        return;
      case 'DDEATH':
        device.state = 'offline';
        device.deathAt = at;
        return;
      default: // DDATA
        this.onData(node, device.metrics, deviceId, device.state !== 'online', payload, at);
    }
  }

  /**
   * NDATA/DDATA: metrics stored by name. Data the state cannot place — an alias no birth named,
   * or data from a node or device that is not online (never born here, or dead since) — means
   * a birth was missed: counted, and the node flagged until its next NBIRTH.
   */
  private onData(
    node: NodeState,
    book: MetricBook,
    device: string | null,
    unborn: boolean,
    payload: SparkplugPayload,
    at: number,
  ): void {
    const messageType = device === null ? 'NDATA' : 'DDATA';
    const unknownAlias = this.applyData(book, payload, false, at);
    if (unknownAlias === null && !unborn) return;
    node.unknownAliasMessages++;
    this.needRebirth(node, {
      reason: unknownAlias !== null ? 'unknown-alias' : 'no-birth',
      alias: unknownAlias,
      device,
      type: messageType,
      at,
    });
  }

  /** NBIRTH: a new session (or a rebirth): metrics and aliases start over, flags clear. */
  private onNodeBirth(node: NodeState, payload: SparkplugPayload, at: number): void {
    const bdSeq = bdSeqOf(payload);
    // bdSeq stays on a rebirth (same MQTT session) and grows by one per new connection
    // (Sparkplug 3.0 §6.4.21); any other jump means sessions went by unseen.
    if (node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq && bdSeq !== (node.bdSeq + 1) % 256) {
      node.bdSeqGaps++;
      node.lastBdSeqGap = { expected: (node.bdSeq + 1) % 256, received: bdSeq, messageType: 'NBIRTH', at };
    }
    node.bdSeq = bdSeq;
    node.seq = payload.seq === undefined ? null : Number(payload.seq % 256n);
    node.state = 'online';
    node.birthAt = at;
    node.rebirthNeeded = null;
    this.clearBook(node.metrics);
    this.applyData(node.metrics, payload, true, at);
    // Devices must be born again in the new session (Sparkplug 3.0 §6.4.7): offline until their DBIRTH.
    for (const device of node.devices.values()) if (device.state === 'online') device.state = 'offline';
  }

  /** NDEATH (usually the MQTT will): offline, with every device, unless it belongs to an older session. */
  private onNodeDeath(node: NodeState, payload: SparkplugPayload, at: number): void {
    const bdSeq = bdSeqOf(payload);
    // [tck-id-operational-behavior-edge-node-bdseq] a death whose bdSeq is not the current birth's is stale.
    if (node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq) {
      node.staleDeaths++;
      return;
    }
    node.state = 'offline';
    node.deathAt = at;
    for (const device of node.devices.values())
      if (device.state !== 'offline') {
        device.state = 'offline';
        device.deathAt = at;
      }
  }

  /** seq must follow the previous message's by one, modulo 256. */
  private checkSeq(node: NodeState, payload: SparkplugPayload, type: MessageType, at: number): void {
    if (payload.seq === undefined) return;
    const received = Number(payload.seq % 256n);
    if (node.seq !== null) {
      const expected = (node.seq + 1) % 256;
      if (received !== expected) {
        node.seqGaps++;
        node.lastSeqGap = { expected, received, messageType: type, at };
      }
    }
    node.seq = received;
  }

  /**
   * Stores a birth's or data message's metrics; a birth records their aliases, data resolves
   * them. Returns the first alias no birth named (data only), or null.
   */
  private applyData(book: MetricBook, payload: SparkplugPayload, birth: boolean, at: number): string | null {
    let unknownAlias: string | null = null;
    for (const metric of payload.metrics) {
      const alias = metric.alias === undefined ? null : metric.alias.toString();
      const known = alias !== null && metric.name === undefined ? book.byAlias.get(alias) : undefined;
      const name = metric.name ?? known?.name ?? null;
      if (name === null && alias !== null && !birth) unknownAlias ??= alias;
      const key = name ?? `#${alias ?? ''}`;
      let state = known ?? book.byKey.get(key);
      if (!state) {
        if (this.metrics >= this.limits.maxMetrics || book.byKey.size >= this.limits.maxMetricsPerNode) {
          this.untracked++;
          continue;
        }
        state = { name, alias, datatype: 'Unknown', value: null, timestamp: null, updatedAt: at };
        book.byKey.set(key, state);
        this.metrics++;
      }
      updateMetric(state, metric, at);
      if (birth && alias !== null) {
        state.alias = alias;
        book.byAlias.set(alias, state);
      }
    }
    return unknownAlias;
  }

  private needRebirth(
    node: NodeState,
    need: { reason: RebirthNeed['reason']; alias: string | null; device: string | null; type: string; at: number },
  ): void {
    // The first reason stays until a birth clears it: it is the one that explains the rest.
    if (node.rebirthNeeded && node.rebirthNeeded.reason === 'unknown-alias') return;
    node.rebirthNeeded = {
      reason: need.reason,
      alias: need.alias,
      device: need.device,
      messageType: need.type,
      at: need.at,
    };
  }

  // ── bookkeeping ──────────────────────────────────────────────────────────────────

  private nodeFor(group: string, id: string, type: MessageType): NodeState | undefined {
    const key = nodeKey(group, id);
    const found = this.nodes.get(key);
    if (found) return found;
    // A command to a node never heard from creates nothing (a typo would add a phantom node).
    if (type === 'NCMD' || type === 'DCMD') return undefined;
    if (this.nodes.size >= this.limits.maxNodes) {
      this.untracked++;
      return undefined;
    }
    const node = newNode(group, id);
    this.nodes.set(key, node);
    return node;
  }

  private deviceFor(node: NodeState, id: string, at: number): DeviceState | undefined {
    const found = node.devices.get(id);
    if (found) return found;
    if (this.devices >= this.limits.maxDevices) {
      this.untracked++;
      return undefined;
    }
    const device = newDevice(id, at);
    node.devices.set(id, device);
    this.devices++;
    return device;
  }

  private clearBook(book: MetricBook): void {
    this.metrics -= book.byKey.size;
    book.byKey.clear();
    book.byAlias.clear();
  }

  private recordUndecodable(message: SparkplugInput, error: unknown): void {
    this.undecodable++;
    const topic = parseSparkplugTopic(message.topic);
    if (topic && topic.kind !== 'state') {
      const node = this.nodes.get(nodeKey(topic.group, topic.node));
      if (node) {
        node.undecodable++;
        node.messages++;
        node.lastMessageAt = message.timestamp;
      }
    }
    const text = error instanceof Error ? error.message : String(error);
    this.recentUndecodable.unshift({
      topic: message.topic.slice(0, maxTextChars),
      size: message.payload.length,
      error: text.slice(0, 200),
      at: message.timestamp,
    });
    if (this.recentUndecodable.length > recentUndecodableKept) this.recentUndecodable.length = recentUndecodableKept;
  }

  /** STATE is JSON `{"online": bool, "timestamp": ms}` (Sparkplug 3.0 §7.5.1), not protobuf. */
  private recordHost(host: string, payload: Uint8Array, at: number): void {
    let parsed: { online?: unknown; timestamp?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof parsed;
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.online !== 'boolean')
        throw new Error('STATE is not {"online": boolean, "timestamp": number}');
    } catch (error) {
      this.recordUndecodable({ topic: `${'spBv1.0/STATE/'}${host}`, payload, timestamp: at }, error);
      return;
    }
    if (!this.hosts.has(host) && this.hosts.size >= maxHosts) {
      this.untracked++;
      return;
    }
    const timestamp =
      typeof parsed.timestamp === 'number' && parsed.timestamp >= 0 ? Math.floor(parsed.timestamp) : null;
    this.hosts.set(host, { host: host.slice(0, maxTextChars), online: parsed.online as boolean, timestamp, at });
  }
}

/** The bdSeq metric of an NBIRTH or NDEATH (Sparkplug 3.0 §6.4.21), 0–255. */
function bdSeqOf(payload: SparkplugPayload): number | null {
  const metric = payload.metrics.find((m) => m.name === 'bdSeq');
  if (!metric) return null;
  const raw = 'longValue' in metric ? metric.longValue : 'intValue' in metric ? metric.intValue : undefined;
  return raw === undefined ? null : Number(BigInt(raw) % 256n);
}
