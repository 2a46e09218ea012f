// A session's subscriptions (bindings) and how a message matches them: the QoS, RETAIN and identifiers it goes out with.
import type { Consumer } from '../../engine/consumer.ts';
import type { Message } from '../../engine/message.ts';
import { topicMatches } from '../../schema/topic.ts';
import { mqttQosHeader, mqttRetainHeader } from './properties.ts';

/** MQTT 5 subscription options (§3.8.3.1) and subscription identifier (§3.8.2.1.2). */
export interface SubscriptionOptions {
  /** No local: messages this client published are not sent back to it [MQTT-3.8.3-3]. */
  readonly noLocal: boolean;
  /** Retain as published: keep RETAIN on forwarded messages [MQTT-3.3.1-12]. */
  readonly retainAsPublished: boolean;
  /** Sent back in each PUBLISH this subscription matches [MQTT-3.3.4-3]. */
  readonly subscriptionId?: number;
}

export const defaultOptions: SubscriptionOptions = { noLocal: false, retainAsPublished: false };

export type Qos = 0 | 1 | 2;

/** How one MQTT subscription is served by the engine. */
export type Binding =
  /** Clean session: a live engine listener (not durable). */
  | { readonly kind: 'live'; readonly filter: string; qos: Qos; options: SubscriptionOptions }
  /** Persistent session: a filter of the session's queue `mqtt/<clientId>`. */
  | { readonly kind: 'session'; readonly filter: string; qos: Qos; options: SubscriptionOptions }
  /** `$queue/<name>` or `$share/<group>/<filter>`: a consumer on an engine queue. */
  | {
      readonly kind: 'queue';
      readonly queue: string;
      qos: Qos;
      options: SubscriptionOptions;
      consumer: Consumer | null;
    };

/** The QoS an MQTT publisher used; messages from other protocols count as QoS 2 (the subscription decides). */
export function messageQos(message: Message): Qos {
  const value = message.headers[mqttQosHeader];
  return value === '0' ? 0 : value === '1' ? 1 : 2;
}

/**
 * min(publish QoS, highest QoS of the matching subscriptions of `kind`), or null when none
 * matches; without a message, just the highest subscription QoS for `topic`.
 */
export function deliveryQos(
  message: Message | null,
  bindings: Iterable<Binding>,
  kind: 'live' | 'session',
  topic = message!.topic,
): Qos | null {
  let best: Qos | null = null;
  for (const binding of bindings)
    if (binding.kind === kind && topicMatches(binding.filter, topic) && (best === null || binding.qos > best))
      best = binding.qos;
  if (best === null || message === null) return best;
  return Math.min(best, messageQos(message)) as Qos;
}

/**
 * min(publish QoS, highest QoS of the matching MQTT 5 subscriptions of `kind`), or null when none
 * matches; with RETAIN when a matching subscription keeps it [MQTT-3.3.1-12] and the identifiers of
 * the matching subscriptions [MQTT-3.3.4-3]. `local` tells that a match was skipped for no local.
 */
export function matchBindings(
  message: Message,
  bindings: Iterable<Binding>,
  kind: 'live' | 'session',
  clientId: string,
): { qos: Qos | null; retain: boolean; ids: number[]; local: boolean } {
  const own = message.protocol === 'mqtt' && message.publisher === clientId;
  const retained = message.headers[mqttRetainHeader] === '1';
  let best: Qos | null = null;
  let retain = false;
  let local = false;
  const ids: number[] = [];
  for (const binding of bindings) {
    if (binding.kind !== kind || !topicMatches(binding.filter, message.topic)) continue;
    if (own && binding.options.noLocal) {
      local = true;
      continue;
    }
    if (best === null || binding.qos > best) best = binding.qos;
    if (retained && binding.options.retainAsPublished) retain = true;
    if (binding.options.subscriptionId !== undefined) ids.push(binding.options.subscriptionId);
  }
  return { qos: best === null ? null : (Math.min(best, messageQos(message)) as Qos), retain, ids, local };
}
