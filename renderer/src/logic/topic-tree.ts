/**
 * The Topics view's live tree (like MQTT Explorer's): seeded from the `topics.tree` snapshot,
 * then kept current by the broker's coalesced `topics` frames (`load`: totals per changed topic,
 * a few times a second whatever the message rate), or by single message events (`apply`).
 * Built for 10k topics: applying a topic is O(depth), rows are flattened only through expanded
 * nodes, and children are sorted once per new child rather than per render. Mutable on purpose;
 * `version` tells React something changed.
 */
import type { MessageEvent, TopicNode } from '../../../core/api/contract.ts';
import { topicMatches } from '../../../core/schema/topic.ts';

/** The last message seen on a topic (a payload preview, not necessarily the whole payload). */
export type LastMessage = TopicNode['lastMessage'] & { readonly timestamp: number };

/** One level of the tree. A node is a topic when messages were published to its own path. */
export class TopicTreeNode {
  readonly children = new Map<string, TopicTreeNode>();
  private sorted: TopicTreeNode[] | undefined;
  /** Messages published to exactly this topic. */
  messages = 0;
  /** Messages published to this topic and every topic below it. */
  subtreeMessages = 0;
  /** Topics at or below this node (a topic is a node with messages of its own). */
  subtreeTopics = 0;
  /** This topic's rate over the last sampling interval. */
  ratePerSec = 0;
  /** Messages counted since the last rate sample. */
  pending = 0;
  last: LastMessage | undefined;

  constructor(
    /** This level's name (`line1`). */
    readonly name: string,
    /** The full topic (`plant/line1`); '' for the root. */
    readonly path: string,
  ) {}

  /** Children in name order (numbers in numeric order: `cell2` before `cell10`). */
  sortedChildren(): TopicTreeNode[] {
    this.sorted ??= [...this.children.values()].sort((a, b) => collator.compare(a.name, b.name));
    return this.sorted;
  }

  /** The child `name`, created when missing. */
  child(name: string): TopicTreeNode {
    let node = this.children.get(name);
    if (!node) {
      node = new TopicTreeNode(name, this.path === '' ? name : `${this.path}/${name}`);
      this.children.set(name, node);
      this.sorted = undefined;
    }
    return node;
  }
}

const collator = new Intl.Collator('en', { numeric: true });

/** One visible line of the tree. */
export interface TopicRow {
  readonly node: TopicTreeNode;
  readonly depth: number;
  readonly expanded: boolean;
}

/** The whole tree plus the bookkeeping for rates. */
export class LiveTopicTree {
  readonly root = new TopicTreeNode('', '');
  /** Bumped on every change; a cheap "did anything happen" for renders. */
  version = 0;
  /** Topics with a rate to recompute at the next sample. */
  private readonly rated = new Set<TopicTreeNode>();

  /** Number of topics (paths that had messages of their own). */
  get topicCount(): number {
    return this.root.subtreeTopics;
  }

  /** The node for `topic`, if the tree has it. */
  find(topic: string): TopicTreeNode | undefined {
    let node: TopicTreeNode | undefined = this.root;
    for (const level of topic.split('/')) node = node?.children.get(level);
    return node;
  }

  /** Seeds or refreshes from the broker's snapshot or a frame (counts and rates there are authoritative). */
  load(snapshot: readonly TopicNode[]): void {
    for (const topic of snapshot) {
      const node = this.walk(topic.topic);
      const added = topic.messages - node.messages;
      if (added > 0) this.addCounts(topic.topic, added, node.messages === 0);
      node.ratePerSec = topic.ratePerSec;
      if (!node.last || node.last.timestamp <= topic.lastTimestamp)
        node.last = { ...topic.lastMessage, timestamp: topic.lastTimestamp };
    }
    this.version++;
  }

  /** Applies one live message event. */
  apply(event: MessageEvent): void {
    const node = this.walk(event.topic);
    this.addCounts(event.topic, 1, node.messages === 0);
    node.pending++;
    this.rated.add(node);
    node.last = {
      id: event.id,
      size: event.size,
      payload: event.payload,
      payloadEncoding: event.payloadEncoding,
      truncated: event.truncated,
      timestamp: event.timestamp,
      ...(event.contentType !== undefined && { contentType: event.contentType }),
      ...(event.protocol !== undefined && { protocol: event.protocol }),
    };
    this.version++;
  }

  /** Turns counted messages into rates, `elapsedSec` after the previous sample. */
  sample(elapsedSec: number): void {
    if (elapsedSec <= 0) return;
    for (const node of this.rated) {
      node.ratePerSec = node.pending / elapsedSec;
      if (node.pending === 0) this.rated.delete(node); // one zero sample, then it rests
      node.pending = 0;
    }
    this.version++;
  }

  /**
   * The rows to show: children of expanded nodes, in order. With a filter (text to find in the
   * path, or an MQTT filter with + / #), only matching topics and their ancestors show, expanded.
   */
  rows(expanded: ReadonlySet<string>, filter = ''): TopicRow[] {
    const rows: TopicRow[] = [];
    const match = matcher(filter.trim());
    if (!match) {
      const visit = (node: TopicTreeNode, depth: number) => {
        for (const child of node.sortedChildren()) {
          const open = expanded.has(child.path);
          rows.push({ node: child, depth, expanded: open });
          if (open) visit(child, depth + 1);
        }
      };
      visit(this.root, 0);
      return rows;
    }
    // Filtering: post-order to know whether a subtree holds a match, then emit pre-order.
    const visit = (node: TopicTreeNode, depth: number): TopicRow[] => {
      const out: TopicRow[] = [];
      for (const child of node.sortedChildren()) {
        const below = visit(child, depth + 1);
        const self = child.messages > 0 && match(child.path);
        if (self || below.length > 0) out.push({ node: child, depth, expanded: below.length > 0 }, ...below);
      }
      return out;
    };
    return visit(this.root, 0);
  }

  private walk(topic: string): TopicTreeNode {
    let node = this.root;
    for (const level of topic.split('/')) node = node.child(level);
    return node;
  }

  /** Adds `n` messages to a topic and its ancestors; `isNewTopic` counts it once as a topic. */
  private addCounts(topic: string, n: number, isNewTopic: boolean): void {
    let node = this.root;
    node.subtreeMessages += n;
    if (isNewTopic) node.subtreeTopics++;
    for (const level of topic.split('/')) {
      node = node.child(level);
      node.subtreeMessages += n;
      if (isNewTopic) node.subtreeTopics++;
    }
    node.messages += n;
  }
}

/** A filter's test: MQTT wildcards make it a topic filter, anything else is a case-insensitive substring. */
export function matcher(filter: string): ((topic: string) => boolean) | undefined {
  if (filter === '') return undefined;
  if (filter.includes('+') || filter.includes('#')) return (topic) => topicMatches(filter, topic);
  const needle = filter.toLowerCase();
  return (topic) => topic.toLowerCase().includes(needle);
}

/** Every ancestor path of a topic (`a/b/c` → `a`, `a/b`), to expand the way to it. */
export function ancestorsOf(topic: string): string[] {
  const levels = topic.split('/');
  return levels.slice(0, -1).map((_, i) => levels.slice(0, i + 1).join('/'));
}
