/**
 * The Sparkplug view's logic: the broker's flat list of edge nodes as a group → node → device
 * outline, each row with what needs attention, and keyboard moves through it.
 */
import type { OperationOutput } from '../../../core/api/contract.ts';

/** sparkplug.state's answer. */
export type SparkplugSnapshot = OperationOutput<'sparkplug.state'>;
/** One edge node. */
export type SparkplugNode = SparkplugSnapshot['nodes'][number];
/** One device. */
export type SparkplugDevice = SparkplugNode['devices'][number];

/** What a row of the outline selects. */
export interface Selection {
  readonly group: string;
  readonly node?: string;
  readonly device?: string;
}

/** One row of the outline. */
export interface OutlineRow {
  readonly key: string;
  readonly depth: 0 | 1 | 2;
  readonly label: string;
  readonly selection: Selection;
  /** online / offline / unknown; for a group: online when any node is. */
  readonly state: 'online' | 'offline' | 'unknown';
  /** Short flags shown beside the name (rebirth needed, gaps, undecodable). */
  readonly flags: readonly string[];
}

/** A row's key for a selection (stable across reloads). */
export function selectionKey(selection: Selection): string {
  return [selection.group, selection.node ?? '', selection.device ?? ''].join('\u0000');
}

/** What needs attention on a node, in a word or two each. */
export function nodeFlags(node: SparkplugNode): string[] {
  const flags: string[] = [];
  if (node.rebirthNeeded)
    flags.push(node.rebirthNeeded.reason === 'unknown-alias' ? 'unknown alias' : 'data without birth');
  if (node.seqGaps > 0) flags.push(`${node.seqGaps} seq gap${node.seqGaps === 1 ? '' : 's'}`);
  if (node.bdSeqGaps > 0) flags.push(`${node.bdSeqGaps} bdSeq gap${node.bdSeqGaps === 1 ? '' : 's'}`);
  if (node.undecodable > 0) flags.push(`${node.undecodable} undecodable`);
  return flags;
}

/** The outline: groups in order, their nodes, each node's devices (nodes come sorted by group, node). */
export function outline(nodes: readonly SparkplugNode[]): OutlineRow[] {
  const rows: OutlineRow[] = [];
  const groups = new Map<string, SparkplugNode[]>();
  for (const node of nodes) {
    const list = groups.get(node.group) ?? [];
    list.push(node);
    groups.set(node.group, list);
  }
  for (const [group, members] of groups) {
    const selection = { group };
    const flagged = members.filter((n) => nodeFlags(n).length > 0).length;
    rows.push({
      key: selectionKey(selection),
      depth: 0,
      label: group,
      selection,
      state: members.some((n) => n.state === 'online')
        ? 'online'
        : members.every((n) => n.state === 'unknown')
          ? 'unknown'
          : 'offline',
      flags: flagged > 0 ? [`${flagged} node${flagged === 1 ? '' : 's'} flagged`] : [],
    });
    for (const node of members) {
      const nodeSelection = { group, node: node.node };
      rows.push({
        key: selectionKey(nodeSelection),
        depth: 1,
        label: node.node,
        selection: nodeSelection,
        state: node.state,
        flags: nodeFlags(node),
      });
      for (const device of node.devices) {
        const deviceSelection = { group, node: node.node, device: device.device };
        rows.push({
          key: selectionKey(deviceSelection),
          depth: 2,
          label: device.device,
          selection: deviceSelection,
          state: device.state,
          flags: node.rebirthNeeded?.device === device.device ? ['unknown alias'] : [],
        });
      }
    }
  }
  return rows;
}

/** The row index a key moves to from `index` (ArrowUp/Down, Home/End), or undefined for other keys. */
export function moveSelection(key: string, index: number, length: number): number | undefined {
  if (length === 0) return undefined;
  switch (key) {
    case 'ArrowDown':
      return Math.min(length - 1, index + 1);
    case 'ArrowUp':
      return Math.max(0, index - 1);
    case 'Home':
      return 0;
    case 'End':
      return length - 1;
    default:
      return undefined;
  }
}

/** A metric's value as text: strings quoted only when empty, null as "null". */
export function metricText(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (value === '') return '""';
  return String(value);
}

/**
 * A link to the Sparkplug view with the group, node and device of a `spBv1.0/…` topic selected,
 * or undefined for any other topic (`spBv1.0/plant/DDATA/line1/pump` → that device).
 */
export function sparkplugHref(topic: string): string | undefined {
  const [namespace, group, type, node, device] = topic.split('/');
  if (namespace !== 'spBv1.0' || !group || !type || type === 'STATE' || !node) return undefined;
  const query = new URLSearchParams({ group, node, ...(device && { device }) });
  return `#/sparkplug?${query.toString()}`;
}

/** The selection a location hash names (`#/sparkplug?group=g&node=n`), if any. */
export function selectionFromHash(hash: string): Selection | undefined {
  const query = hash.split('?')[1];
  if (query === undefined) return undefined;
  const params = new URLSearchParams(query);
  const group = params.get('group');
  if (!group) return undefined;
  const node = params.get('node') ?? undefined;
  const device = params.get('device') ?? undefined;
  return { group, ...(node && { node, ...(device && { device }) }) };
}
