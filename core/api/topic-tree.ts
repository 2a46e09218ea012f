/**
 * The live topic tree: every topic seen since the broker started, with its message count, rate
 * and a preview of its last message. Fed by one engine live listener on `#` (service.ts); the
 * UI's Topics view takes a snapshot (`topics.tree`) and then follows `events.stream`.
 *
 * Bounded memory: at most `maxTopics` topics are tracked (default 100 000) and each keeps a
 * preview of at most `previewBytes` of its last payload (default 256), copied so a large
 * payload is not kept alive. Topics first seen after the cap are not tracked; their messages
 * are counted in `untrackedMessages`. Worst case ≈ maxTopics × (previewBytes + ~300 B).
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

interface TrackedTopic {
  messages: number;
  /** Count at the previous rate sample. */
  sampledMessages: number;
  ratePerSec: number;
  last: {
    id: string;
    timestamp: number;
    size: number;
    contentType: string | undefined;
    protocol: string | undefined;
    preview: Buffer;
    truncated: boolean;
  };
}

/** What a snapshot answers (topics.tree's output). */
export interface TopicTreeSnapshot {
  readonly topics: TopicNode[];
  readonly matched: number;
  readonly tracked: number;
  readonly maxTracked: number;
  readonly untrackedMessages: number;
}

/** Per-topic counters and last message, bounded. */
export class TopicTree {
  private readonly topics = new Map<string, TrackedTopic>();
  private untracked = 0;

  constructor(private readonly limits: TopicTreeLimits = defaultTopicTreeLimits) {}

  /** Counts a message on its topic (a live listener: O(1), one small copy). */
  record(message: Message): void {
    let topic = this.topics.get(message.topic);
    if (!topic) {
      if (this.topics.size >= this.limits.maxTopics) {
        this.untracked++;
        return;
      }
      topic = { messages: 0, sampledMessages: 0, ratePerSec: 0, last: undefined as never };
      this.topics.set(message.topic, topic);
    }
    topic.messages++;
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

  /** Updates each topic's rate from the messages counted in the last `seconds`. */
  sample(seconds: number): void {
    for (const topic of this.topics.values()) {
      topic.ratePerSec = (topic.messages - topic.sampledMessages) / seconds;
      topic.sampledMessages = topic.messages;
    }
  }

  /** Topics matching `filter`, sorted, at most `limit`. */
  snapshot(filter: string, limit: number): TopicTreeSnapshot {
    const names = [...this.topics.keys()].filter((name) => topicMatches(filter, name)).sort();
    return {
      topics: names.slice(0, limit).map((name) => this.node(name, this.topics.get(name)!)),
      matched: names.length,
      tracked: this.topics.size,
      maxTracked: this.limits.maxTopics,
      untrackedMessages: this.untracked,
    };
  }

  private node(name: string, topic: TrackedTopic): TopicNode {
    const { last } = topic;
    const preview = previewPayload(last.preview, this.limits.previewBytes);
    return {
      topic: name,
      messages: topic.messages,
      ratePerSec: topic.ratePerSec,
      lastTimestamp: last.timestamp,
      lastMessage: {
        id: last.id,
        size: last.size,
        ...(last.contentType !== undefined && { contentType: last.contentType }),
        ...(last.protocol !== undefined && { protocol: last.protocol }),
        ...preview,
        truncated: last.truncated || preview.truncated,
      },
    };
  }
}
