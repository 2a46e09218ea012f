import type { Message } from './message.ts';
import type { QueueRuntime } from './queue.ts';
import { TopicTrie } from './topic-trie.ts';

/** A non-durable tap on the live message flow (UI topic tree, SSE streams, clean MQTT sessions). */
export type LiveListener = (message: Message) => void;

/**
 * Routes a topic to the queues subscribed to it and to live listeners. Both are tries, so
 * routing cost follows the topic's depth, not the number of subscriptions.
 */
export class Router {
  private readonly queues = new TopicTrie<QueueRuntime>();
  private readonly live = new TopicTrie<LiveListener>();

  bindQueue(queue: QueueRuntime): void {
    for (const filter of queue.config.subscriptions) this.queues.add(filter, queue);
  }

  unbindQueue(queue: QueueRuntime): void {
    for (const filter of queue.config.subscriptions) this.queues.remove(filter, queue);
  }

  hasQueues(): boolean {
    return this.queues.size > 0;
  }

  /** Queues a message on `topic` is enqueued to: each once, however many filters match. */
  queuesFor(topic: string): ReadonlySet<QueueRuntime> {
    return this.queues.match(topic);
  }

  /** Adds a live listener; returns the function that removes it. */
  listen(filter: string, listener: LiveListener): () => void {
    this.live.add(filter, listener);
    return () => this.live.remove(filter, listener);
  }

  hasListeners(): boolean {
    return this.live.size > 0;
  }

  listenersFor(topic: string): ReadonlySet<LiveListener> {
    return this.live.match(topic);
  }
}
