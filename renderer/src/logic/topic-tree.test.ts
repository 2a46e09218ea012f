import { describe, expect, test } from 'vitest';
import type { MessageEvent } from '../../../core/api/contract.ts';
import { ancestorsOf, LiveTopicTree, matcher } from './topic-tree.ts';

let nextId = 1;
const message = (topic: string, payload = 'x'): MessageEvent => ({
  type: 'message',
  id: String(nextId++),
  topic,
  timestamp: 1_000 + nextId,
  size: payload.length,
  headers: {},
  payload,
  payloadEncoding: 'utf8',
  truncated: false,
});

describe('live topic tree', () => {
  test('messages build the levels, with counts per topic and per subtree', () => {
    const tree = new LiveTopicTree();
    tree.apply(message('plant/line1/temp'));
    tree.apply(message('plant/line1/temp'));
    tree.apply(message('plant/line2/temp'));
    tree.apply(message('plant'));
    expect(tree.topicCount).toBe(3);
    expect(tree.find('plant/line1/temp')?.messages).toBe(2);
    expect(tree.find('plant/line1')?.messages).toBe(0);
    expect(tree.find('plant/line1')?.subtreeMessages).toBe(2);
    expect(tree.find('plant')?.subtreeMessages).toBe(4);
    expect(tree.find('plant')?.subtreeTopics).toBe(3);
    expect(tree.find('plant')?.messages).toBe(1);
  });

  test('the last message is kept per topic', () => {
    const tree = new LiveTopicTree();
    tree.apply(message('a/b', 'first'));
    tree.apply(message('a/b', 'second'));
    expect(tree.find('a/b')?.last?.payload).toBe('second');
    expect(tree.find('a')?.last).toBeUndefined();
  });

  test('rows walk only expanded levels, children in natural order', () => {
    const tree = new LiveTopicTree();
    for (const topic of ['p/cell10/t', 'p/cell2/t', 'p/cell1/t', 'q/x']) tree.apply(message(topic));
    expect(tree.rows(new Set()).map((r) => r.node.path)).toEqual(['p', 'q']);
    const open = tree.rows(new Set(['p', 'p/cell2']));
    expect(open.map((r) => [r.node.path, r.depth])).toEqual([
      ['p', 0],
      ['p/cell1', 1],
      ['p/cell2', 1],
      ['p/cell2/t', 2],
      ['p/cell10', 1],
      ['q', 0],
    ]);
    expect(open[0]?.expanded).toBe(true);
  });

  test('a text filter shows matching topics with their ancestors opened', () => {
    const tree = new LiveTopicTree();
    for (const topic of ['plant/line1/temp', 'plant/line1/pressure', 'plant/line2/temp', 'office/temp'])
      tree.apply(message(topic));
    const rows = tree.rows(new Set(), 'PRESS');
    expect(rows.map((r) => r.node.path)).toEqual(['plant', 'plant/line1', 'plant/line1/pressure']);
    expect(rows.slice(0, 2).every((r) => r.expanded)).toBe(true);
  });

  test('an MQTT filter matches with wildcards', () => {
    const tree = new LiveTopicTree();
    for (const topic of ['plant/line1/temp', 'plant/line2/temp', 'plant/line2/flow']) tree.apply(message(topic));
    const topics = tree
      .rows(new Set(), 'plant/+/temp')
      .filter((r) => r.node.messages > 0)
      .map((r) => r.node.path);
    expect(topics).toEqual(['plant/line1/temp', 'plant/line2/temp']);
  });

  test('a snapshot seeds counts; live messages seen before it are not counted twice', () => {
    const tree = new LiveTopicTree();
    tree.apply(message('a/b'));
    tree.load([
      {
        topic: 'a/b',
        messages: 5,
        ratePerSec: 2,
        lastTimestamp: 10,
        lastMessage: { id: '9', size: 1, payload: 'old', payloadEncoding: 'utf8', truncated: false },
      },
    ]);
    expect(tree.find('a/b')?.messages).toBe(5);
    expect(tree.find('a')?.subtreeMessages).toBe(5);
    expect(tree.topicCount).toBe(1);
    // The live message is newer than the snapshot's last: it stays.
    expect(tree.find('a/b')?.last?.payload).toBe('x');
  });

  test('coalesced frames carry totals: each replaces the counts, rate and last message of its topics', () => {
    const tree = new LiveTopicTree();
    const node = (topic: string, messages: number, ratePerSec: number, id: string) => ({
      topic,
      messages,
      ratePerSec,
      lastTimestamp: Number(id),
      lastMessage: { id, size: 1, payload: `p${id}`, payloadEncoding: 'utf8' as const, truncated: false },
    });
    tree.load([node('plant/a', 5, 20, '10'), node('plant/b', 1, 4, '11')]);
    tree.load([node('plant/a', 9, 16, '20')]);
    expect(tree.find('plant/a')?.messages).toBe(9);
    expect(tree.find('plant/a')?.ratePerSec).toBe(16);
    expect(tree.find('plant/a')?.last?.payload).toBe('p20');
    expect(tree.find('plant')?.subtreeMessages).toBe(10);
    expect(tree.topicCount).toBe(2);
    // A frame that only carries a new rate (the topic went quiet) changes nothing else.
    tree.load([node('plant/a', 9, 0, '20')]);
    expect(tree.find('plant/a')?.ratePerSec).toBe(0);
    expect(tree.find('plant')?.subtreeMessages).toBe(10);
  });

  test('rates come from messages counted between samples and fall to zero when quiet', () => {
    const tree = new LiveTopicTree();
    for (let i = 0; i < 10; i++) tree.apply(message('r'));
    tree.sample(2);
    expect(tree.find('r')?.ratePerSec).toBe(5);
    tree.sample(1);
    expect(tree.find('r')?.ratePerSec).toBe(0);
  });

  test('10k topics at 5k messages stay cheap: applying and flattening are fast', () => {
    const tree = new LiveTopicTree();
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) tree.apply(message(`site/area${i % 10}/line${i % 100}/sensor${i}`));
    for (let i = 0; i < 5_000; i++) tree.apply(message(`site/area${i % 10}/line${i % 100}/sensor${i}`));
    const expanded = new Set(['site', ...Array.from({ length: 10 }, (_, i) => `site/area${i}`)]);
    const rows = tree.rows(expanded);
    tree.rows(new Set(), 'sensor99');
    expect(tree.topicCount).toBe(10_000);
    expect(rows.length).toBe(1 + 10 + 100);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe('topic helpers', () => {
  test('ancestors lead to a topic', () => {
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b']);
    expect(ancestorsOf('a')).toEqual([]);
  });
  test('an empty filter matches nothing special', () => {
    expect(matcher('')).toBeUndefined();
    expect(matcher('#')?.('$SYS/x')).toBe(false);
  });
});
