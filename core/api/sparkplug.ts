/**
 * The Sparkplug B operations (docs/sparkplug.md) over the broker's Sparkplug state: the state is
 * fed by the service's one `#` listener with a prefix check, so topics outside `spBv1.0/` cost a
 * single `startsWith`; the rebirth request is an NCMD published through the engine like any
 * other message (durable, routed once, seen by the node's MQTT subscription).
 */
import type { Engine } from '../engine/engine.ts';
import type { Message } from '../engine/message.ts';
import { dataTypeNumber, encodePayload } from '../sparkplug/payload.ts';
import { SparkplugState, defaultSparkplugLimits, type SparkplugLimits } from '../sparkplug/state.ts';
import { namespacePrefix } from '../sparkplug/topic.ts';
import type { OperationOutput, ParsedInput } from './contract.ts';

/** The metric an edge node acts on to publish its births again (Sparkplug 3.0 §6.4.19). */
export const rebirthMetric = 'Node Control/Rebirth';

/** The Sparkplug state and its two operations. */
export interface SparkplugService {
  /** Feed for the service's live listener: cheap for every topic outside spBv1.0/. */
  readonly record: (message: Message) => void;
  readonly handlers: {
    readonly 'sparkplug.state': (input: ParsedInput<'sparkplug.state'>) => OperationOutput<'sparkplug.state'>;
    readonly 'sparkplug.rebirth': (
      input: ParsedInput<'sparkplug.rebirth'>,
      publisher: { protocol: string; user: string | null },
    ) => Promise<OperationOutput<'sparkplug.rebirth'>>;
  };
}

/** Builds the Sparkplug state and operations over the engine. */
export function createSparkplugService(engine: Engine, limits?: Partial<SparkplugLimits>): SparkplugService {
  const state = new SparkplugState({ ...defaultSparkplugLimits, ...limits });
  return {
    record: (message) => {
      if (!message.topic.startsWith(namespacePrefix)) return;
      try {
        state.record(message);
      } catch (error) {
        // The state never throws on bad input by design; this guards the engine's commit path anyway.
        engine.logger.warn({ err: error, topic: message.topic }, 'sparkplug: message not tracked');
      }
    },
    handlers: {
      'sparkplug.state': ({ group, node, metrics }) =>
        state.snapshot({
          metrics,
          ...(group !== undefined && { group }),
          ...(node !== undefined && { node }),
        }),
      'sparkplug.rebirth': async ({ group, node }, publisher) => {
        const topic = `${namespacePrefix}${group}/NCMD/${node}`;
        const now = Date.now();
        // NCMD carries no seq (Sparkplug 3.0 §6.4.1: seq is for what edge nodes publish).
        const payload = encodePayload({
          timestamp: now,
          metrics: [{ name: rebirthMetric, timestamp: now, datatype: dataTypeNumber('Boolean'), booleanValue: true }],
        });
        const receipt = await engine.publish({
          topic,
          payload: Buffer.from(payload),
          protocol: publisher.protocol,
          ...(publisher.user !== null && { publisher: publisher.user }),
        });
        state.rebirthRequested(group, node, receipt.timestamp);
        return { ...receipt, queues: [...receipt.queues], topic };
      },
    },
  };
}
