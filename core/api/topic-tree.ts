/**
 * The live topic tree: every topic seen since the broker started, with its message count, rate
 * and a preview of its last message. Fed by one engine live listener on `#` (service.ts); the
 * UI's Topics view takes a snapshot (`topics.tree`) and then follows coalesced `topics` frames
 * of `events.stream` (DESIGN.md: UI — latest state per changed topic a few times a second,
 * never one event per message, so the UI's cost does not grow with the message rate).
 *
 * Per message `record` only counts and keeps a reference to the newest message; the preview is
 * copied once per topic per frame (`takeChanges`), not once per message.
 *
 * Bounded memory: at most `maxTopics` topics are tracked (default 100 000) and each keeps a
 * preview of at most `previewBytes` of its last payload (default 256), copied so a large
 * payload is not kept alive. Topics first seen after the cap are not tracked; their messages
 * are counted in `untrackedMessages`. Worst case ≈ maxTopics × (previewBytes + ~300 B), plus
 * the newest message of each topic changed since the last frame (held one frame at most).
 */
import { topicMatches } from '../schema/topic.ts';
import type { Message } from '../engine/message.ts';
import type { TopicNode } from './contract.ts';
import { previewPayload } from './wire.ts';

/** Tracking limits. */
export interface TopicTreeLimits {
  readonly maxTopics: number;
  readonly previewBytes: number;
}

/** Default limits (documented in docs/http.md). */
export const defaultTopicTreeLimits: TopicTreeLimits = { maxTopics: 100_000, previewBytes: 256 };

interface LastMessage {
  id: string;
  timestamp: number;
  size: number;
  contentType: string | undefined;
  protocol: string | undefined;
  preview: Buffer;
  truncated: boolean;
}

interface TrackedTopic {
  readonly name: string;
  messages: number;
  /** Count at the previous rate sample. */
  sampledMessages: number;
  ratePerSec: number;
  /** The newest message not yet turned into `last` (held until the next frame). */
  newest: Message | undefined;
  last: LastMessage | undefined;
  /** Queued in `changed` for the next frame. */
  changed: boolean;
}

/** What a snapshot answers (topics.tree's output). */
export interface TopicTreeSnapshot {
  readonly topics: TopicNode[];
  readonly matched: number;
  readonly tracked: number;
  readonly maxTracked: number;
  readonly untrackedMessages: number;
}

/** One topic that changed since the previous frame; `node(previewBytes)` builds its wire form once per size. */
export interface TopicChange {
  readonly topic: string;
  /** Its wire form with a payload preview of at most `previewBytes` (the tree's own size when the message is gone). */
  node(previewBytes: number): TopicNode;
}

/** Per-topic counters and last message, bounded. */
export class TopicTree {
  private readonly topics = new Map<string, TrackedTopic>();
  /** Topics changed since the last frame, in the order they changed. */
  private changed: TrackedTopic[] = [];
  private untracked = 0;

  constructor(private readonly limits: TopicTreeLimits = defaultTopicTreeLimits) {}

  /** Topics tracked. */
  get tracked(): number {
    return this.topics.size;
  }

  /** Messages on topics past the tracking cap. */
  get untrackedMessages(): number {
    return this.untracked;
  }

  /** Counts a message on its topic (a live listener: O(1), no copy, no allocation once the topic is known). */
  record(message: Message): void {
    let topic = this.topics.get(message.topic);
    if (!topic) {
      if (this.topics.size >= this.limits.maxTopics) {
        this.untracked++;
        return;
      }
      topic = {
        name: message.topic,
        messages: 0,
        sampledMessages: 0,
        ratePerSec: 0,
        newest: undefined,
        last: undefined,
        changed: false,
      };
      this.topics.set(message.topic, topic);
    }
    topic.messages++;
    topic.newest = message;
    this.markChanged(topic);
  }

  /** Updates each topic's rate from the messages counted in the last `seconds`; a new rate is a change. */
  sample(seconds: number): void {
    for (const topic of this.topics.values()) {
      const ratePerSec = (topic.messages - topic.sampledMessages) / seconds;
      topic.sampledMessages = topic.messages;
      if (ratePerSec === topic.ratePerSec) continue;
      topic.ratePerSec = ratePerSec;
      this.markChanged(topic);
    }
  }

  /**
   * Takes up to `max` topics changed since the previous call (the rest wait for the next), in
   * the order they first changed. Each topic's newest message becomes its stored preview here.
   */
  takeChanges(max: number): TopicChange[] {
    const taken = this.changed.length <= max ? this.changed : this.changed.slice(0, max);
    this.changed = taken === this.changed ? [] : this.changed.slice(max);
    return taken.map((topic) => {
      topic.changed = false;
      const newest = topic.newest;
      this.settle(topic);
      const built = new Map<number, TopicNode>();
      return {
        topic: topic.name,
        node: (previewBytes) => {
          let node = built.get(previewBytes);
          if (!node) {
            node =
              newest && previewBytes !== this.limits.previewBytes
                ? this.node(topic, previewPayload(newest.payload, previewBytes))
                : this.node(topic);
            built.set(previewBytes, node);
          }
          return node;
        },
      };
    });
  }

  /** Topics matching `filter`, sorted, at most `limit`. */
  snapshot(filter: string, limit: number): TopicTreeSnapshot {
    const names = [...this.topics.keys()].filter((name) => topicMatches(filter, name)).sort();
    return {
      topics: names.slice(0, limit).map((name) => {
        const topic = this.topics.get(name)!;
        this.settle(topic);
        return this.node(topic);
      }),
      matched: names.length,
      tracked: this.topics.size,
      maxTracked: this.limits.maxTopics,
      untrackedMessages: this.untracked,
    };
  }

  private markChanged(topic: TrackedTopic): void {
    if (topic.changed) return;
    topic.changed = true;
    this.changed.push(topic);
  }

  /** Turns the newest message into the stored preview and lets the message go. */
  private settle(topic: TrackedTopic): void {
    const message = topic.newest;
    if (!message) return;
    topic.newest = undefined;
    const { payload } = message;
    const truncated = payload.length > this.limits.previewBytes;
    topic.last = {
      id: message.id,
      timestamp: message.timestamp,
      size: payload.length,
      contentType: message.contentType,
      protocol: message.protocol,
      // Copied: a subarray would keep the whole (possibly 16 MiB) payload alive.
      preview: Buffer.from(truncated ? payload.subarray(0, this.limits.previewBytes) : payload),
      truncated,
    };
  }

  private node(topic: TrackedTopic, preview?: ReturnType<typeof previewPayload>): TopicNode {
    const last = topic.last!; // a tracked topic has had a message, and settle() ran before
    const shown = preview ?? previewPayload(last.preview, this.limits.previewBytes);
    return {
      topic: topic.name,
      messages: topic.messages,
      ratePerSec: topic.ratePerSec,
      lastTimestamp: last.timestamp,
      lastMessage: {
        id: last.id,
        size: last.size,
        ...(last.contentType !== undefined && { contentType: last.contentType }),
        ...(last.protocol !== undefined && { protocol: last.protocol }),
        ...shown,
        truncated: preview ? preview.truncated : last.truncated || shown.truncated,
      },
    };
  }
}
