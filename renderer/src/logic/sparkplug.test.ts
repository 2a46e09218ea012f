import { describe, expect, test } from 'vitest';
import {
  moveSelection,
  nodeFlags,
  outline,
  selectionFromHash,
  sparkplugHref,
  type SparkplugNode,
} from './sparkplug.ts';

const node = (group: string, id: string, extra: Partial<SparkplugNode> = {}): SparkplugNode => ({
  group,
  node: id,
  state: 'online',
  bdSeq: 0,
  seq: 0,
  birthAt: 1,
  deathAt: null,
  lastMessageAt: 1,
  messages: 1,
  seqGaps: 0,
  lastSeqGap: null,
  bdSeqGaps: 0,
  lastBdSeqGap: null,
  staleDeaths: 0,
  unknownAliasMessages: 0,
  rebirthNeeded: null,
  rebirthRequestedAt: null,
  undecodable: 0,
  metricCount: 0,
  devices: [],
  ...extra,
});

describe('Sparkplug outline', () => {
  test('groups hold their nodes and nodes their devices, in order, with depths', () => {
    const rows = outline([
      node('a', 'n1', {
        devices: [
          { device: 'd1', state: 'offline', birthAt: 1, deathAt: 2, lastMessageAt: 2, messages: 2, metricCount: 0 },
        ],
      }),
      node('b', 'n2', { state: 'offline' }),
    ]);
    expect(rows.map((r) => [r.depth, r.label, r.state])).toEqual([
      [0, 'a', 'online'],
      [1, 'n1', 'online'],
      [2, 'd1', 'offline'],
      [0, 'b', 'offline'],
      [1, 'n2', 'offline'],
    ]);
  });

  test('a node needing a rebirth, with gaps and bad payloads, says so; its group counts it', () => {
    const flagged = node('a', 'n1', {
      rebirthNeeded: { reason: 'unknown-alias', alias: '4', device: 'd1', messageType: 'DDATA', at: 1 },
      seqGaps: 2,
      undecodable: 1,
      devices: [
        { device: 'd1', state: 'unknown', birthAt: null, deathAt: null, lastMessageAt: 1, messages: 1, metricCount: 1 },
      ],
    });
    expect(nodeFlags(flagged)).toEqual(['unknown alias', '2 seq gaps', '1 undecodable']);
    const rows = outline([flagged]);
    expect(rows[0]!.flags).toEqual(['1 node flagged']);
    expect(rows[2]!.flags).toEqual(['unknown alias']);
  });

  test('arrow keys, Home and End move within the rows and stop at the ends', () => {
    expect(moveSelection('ArrowDown', 0, 3)).toBe(1);
    expect(moveSelection('ArrowDown', 2, 3)).toBe(2);
    expect(moveSelection('ArrowUp', 0, 3)).toBe(0);
    expect(moveSelection('End', 0, 3)).toBe(2);
    expect(moveSelection('Home', 2, 3)).toBe(0);
    expect(moveSelection('x', 1, 3)).toBeUndefined();
    expect(moveSelection('ArrowDown', 0, 0)).toBeUndefined();
  });
});

describe('links to the Sparkplug view', () => {
  test('a Sparkplug topic links to its node or device, and the link selects it again', () => {
    const href = sparkplugHref('spBv1.0/plant a/DDATA/line1/pump');
    expect(href).toBe('#/sparkplug?group=plant+a&node=line1&device=pump');
    expect(selectionFromHash(href!)).toEqual({ group: 'plant a', node: 'line1', device: 'pump' });
    expect(selectionFromHash(sparkplugHref('spBv1.0/g/NDATA/n')!)).toEqual({ group: 'g', node: 'n' });
  });

  test('other topics, STATE and incomplete ones have no link', () => {
    expect(sparkplugHref('plant/line1')).toBeUndefined();
    expect(sparkplugHref('spBv1.0/STATE/scada')).toBeUndefined();
    expect(sparkplugHref('spBv1.0/g')).toBeUndefined();
    expect(selectionFromHash('#/sparkplug')).toBeUndefined();
  });
});
