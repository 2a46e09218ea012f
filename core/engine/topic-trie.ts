/**
 * Subscription index: topic filters → values, matched against a topic in time proportional
 * to the topic's depth and the number of matching branches, not the number of subscriptions.
 */
interface TrieNode<V> {
  readonly children: Map<string, TrieNode<V>>;
  /** Values subscribed with a filter ending exactly at this node. */
  readonly values: Set<V>;
}

const newNode = <V>(): TrieNode<V> => ({ children: new Map(), values: new Set() });

/** Topics whose match is remembered; past this the memory starts over (bounded memory). */
const maxMemoTopics = 10_000;

export class TopicTrie<V> {
  private readonly root: TrieNode<V> = newNode();
  private count = 0;
  /**
   * The last answers per topic: publishers repeat topics, and the match (a split, a walk and a
   * new Set) showed per message in the broker's profile. Any add or remove forgets them all.
   */
  private memo = new Map<string, ReadonlySet<V>>();

  /** Number of (filter, value) pairs held. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` under `filter` (already validated); adding the same pair twice is a no-op. */
  add(filter: string, value: V): void {
    let node = this.root;
    for (const level of filter.split('/')) {
      let child = node.children.get(level);
      if (!child) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (!node.values.has(value)) {
      node.values.add(value);
      this.count++;
      this.memo = new Map();
    }
  }

  /** Removes the pair; prunes branches left empty so the trie does not grow forever. */
  remove(filter: string, value: V): boolean {
    const path: Array<[TrieNode<V>, string]> = [];
    let node = this.root;
    for (const level of filter.split('/')) {
      const child = node.children.get(level);
      if (!child) return false;
      path.push([node, level]);
      node = child;
    }
    if (!node.values.delete(value)) return false;
    this.count--;
    this.memo = new Map();
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = parent.children.get(level)!;
      if (child.values.size > 0 || child.children.size > 0) break;
      parent.children.delete(level);
    }
    return true;
  }

  /**
   * Every distinct value whose filter matches `topic`. The set is shared with later calls for the
   * same topic until the trie changes (then a new one is made): read it, never change it.
   */
  match(topic: string): ReadonlySet<V> {
    const known = this.memo.get(topic);
    if (known) return known;
    const found = new Set<V>();
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] '+' and '#' in the first level never match a '$' topic.
    this.walk(this.root, levels, 0, found, topic.startsWith('$'));
    if (this.memo.size >= maxMemoTopics) this.memo = new Map();
    this.memo.set(topic, found);
    return found;
  }

  private walk(node: TrieNode<V>, levels: string[], depth: number, found: Set<V>, dollar: boolean): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    if (wildcardsAllowed) {
      const hash = node.children.get('#');
      if (hash) for (const value of hash.values) found.add(value);
    }
    if (depth === levels.length) {
      for (const value of node.values) found.add(value);
      return;
    }
    const exact = node.children.get(levels[depth]!);
    if (exact) this.walk(exact, levels, depth + 1, found, dollar);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus) this.walk(plus, levels, depth + 1, found, dollar);
    }
  }
}
