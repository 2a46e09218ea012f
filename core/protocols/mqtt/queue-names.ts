import { SluiceError } from '../../errors.ts';
import { assertTopicFilter } from '../../schema/topic.ts';

/** Subscriptions to `$queue/<name>` consume the named engine queue. */
export const queuePrefix = '$queue/';
/** Subscriptions to `$share/<group>/<filter>` share an engine queue among the group's members. */
export const sharePrefix = '$share/';

/** `$share/<group>/<filter>` → its parts [MQTT 5 §4.8.2; the same syntax is accepted from 3.1.1 clients]. */
export function parseShare(topic: string): { group: string; filter: string } {
  const rest = topic.slice(sharePrefix.length);
  const slash = rest.indexOf('/');
  const group = slash < 0 ? '' : rest.slice(0, slash);
  const filter = slash < 0 ? '' : rest.slice(slash + 1);
  if (group.length === 0 || /[+#]/.test(group) || filter.length === 0)
    throw new SluiceError('invalid-topic-filter', `"${topic}" is not $share/<group>/<filter>`);
  assertTopicFilter(filter);
  return { group, filter };
}

/** Engine queue names exclude whitespace, `+ # * ?` and control characters: percent-encode those. */
function escapeQueuePart(text: string): string {
  return text.replace(/[\s+#*?%\p{Cc}]/gu, (char) =>
    [...Buffer.from(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** DESIGN.md: a persistent session is the engine queue `mqtt/<clientId>`. */
export function sessionQueueName(clientId: string): string {
  return `mqtt/${escapeQueuePart(clientId)}`;
}

/** Prefix of the engine queues behind `$share` subscriptions. */
export const sharedQueuePrefix = 'mqtt-share/';

/** The engine queue shared by the members of `$share/<group>/<filter>`. */
export function sharedQueueName(group: string, filter: string): string {
  return `${sharedQueuePrefix}${escapeQueuePart(group)}/${escapeQueuePart(filter)}`;
}
