/**
 * The live event operations (`events.stream`, `topics.stream`): message events straight from the
 * engine, stats once per rate interval, and coalesced topic tree frames (DESIGN.md: UI), one
 * timer for every subscriber whatever the message rate.
 */
import type { Engine } from '../../engine/engine.ts';
import { topicMatches } from '../../schema/topic.ts';
import type { BrokerEvent, WireStats } from '../contract.ts';
import type { TopicChange, TopicTree } from '../topic-tree.ts';
import { toMessageEvent } from '../wire.ts';
import type { EventHandlers } from './context.ts';

/** Most topics one tree frame carries; more changed ones go in the next frames (bounds a frame's size). */
const maxTopicsPerFrame = 5000;

/** The live subscriptions over the engine and the topic tree; `close()` ends them all. */
export function createLiveEvents(engine: Engine, topicTree: TopicTree, treeFrameMs?: number) {
  const statsSinks = new Set<(stats: WireStats) => void>();
  // Coalesced tree frames (DESIGN.md: UI): one timer for every subscriber, whatever the message
  // rate. It also runs with no subscriber, so the newest message of each topic is let go within a frame.
  const treeSinks = new Set<(changes: readonly TopicChange[]) => void>();
  const treeTimer = setInterval(() => {
    const changes = topicTree.takeChanges(maxTopicsPerFrame);
    if (changes.length > 0) for (const sink of treeSinks) sink(changes);
  }, treeFrameMs ?? 250);
  treeTimer.unref();

  /** Calls a subscriber, keeping its failure away from the engine's commit path. */
  const guarded =
    <E>(sink: (event: E) => void) =>
    (event: E) => {
      try {
        sink(event);
      } catch (error) {
        engine.logger.warn({ err: error }, 'live event subscriber failed');
      }
    };

  const events: EventHandlers = {
    'events.stream': ({ topics, tree, stats, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      // One function for every filter: the router's listener set delivers a message once even
      // when the filters overlap.
      const onMessage = (message: Parameters<Parameters<Engine['listen']>[1]>[0]) =>
        emit(toMessageEvent(message, previewBytes));
      const stops = (topics ?? []).map((filter) => engine.listen(filter, onMessage));
      const onStats = (snapshot: WireStats) => emit({ type: 'stats', stats: snapshot });
      if (stats) statsSinks.add(onStats);
      const onTree = (changes: readonly TopicChange[]) => {
        const nodes = [];
        for (const change of changes)
          if (tree === '#' || topicMatches(tree!, change.topic)) nodes.push(change.node(previewBytes));
        if (nodes.length > 0)
          emit({
            type: 'topics',
            topics: nodes,
            tracked: topicTree.tracked,
            untrackedMessages: topicTree.untrackedMessages,
          });
      };
      if (tree !== undefined) treeSinks.add(onTree);
      return () => {
        for (const stop of stops) stop();
        statsSinks.delete(onStats);
        treeSinks.delete(onTree);
      };
    },
    'topics.stream': ({ filter, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      return engine.listen(filter, (message) => emit(toMessageEvent(message, previewBytes)));
    },
  };

  return {
    events,
    /** Sends stats to the stats subscribers; `compute` runs only when there is one. */
    sendStats(compute: () => WireStats): void {
      if (statsSinks.size === 0) return;
      const stats = compute(); // computed once per interval, shared by every subscriber
      for (const sink of statsSinks) sink(stats);
    },
    close(): void {
      clearInterval(treeTimer);
      statsSinks.clear();
      treeSinks.clear();
    },
  };
}
