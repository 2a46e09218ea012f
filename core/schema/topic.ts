import { SluiceError } from '../errors.ts';

const utf8 = new TextEncoder();

/** Longest topic name or filter in UTF-8 bytes [MQTT-4.7.3-3]. */
export const maxTopicBytes = 65_535;

/**
 * Checks a topic a message is published to: non-empty, no wildcards, no NUL.
 * Levels are separated by `/`; empty levels are legal [MQTT-4.7.1-1, MQTT-4.7.3-1, MQTT-4.7.3-2].
 */
export function assertTopicName(topic: string): void {
  if (topic.length === 0) throw new SluiceError('invalid-topic', 'A topic must not be empty');
  if (topic.includes('+') || topic.includes('#'))
    throw new SluiceError(
      'invalid-topic',
      `Topic "${topic}" contains a wildcard; wildcards are for subscriptions only`,
    );
  assertCommon(topic, 'invalid-topic');
}

/**
 * Checks a subscription filter: `+` fills one whole level, `#` only as the whole last level
 * [MQTT-4.7.1-2, MQTT-4.7.1-3].
 */
export function assertTopicFilter(filter: string): void {
  if (filter.length === 0) throw new SluiceError('invalid-topic-filter', 'A topic filter must not be empty');
  assertCommon(filter, 'invalid-topic-filter');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1))
      throw new SluiceError('invalid-topic-filter', `In "${filter}", '#' must be the whole last level`);
    if (level.includes('+') && level !== '+')
      throw new SluiceError('invalid-topic-filter', `In "${filter}", '+' must be a whole level`);
  });
}

function assertCommon(value: string, code: 'invalid-topic' | 'invalid-topic-filter'): void {
  if (value.includes('\u0000')) throw new SluiceError(code, 'A topic must not contain the NUL character');
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only long topics need encoding to check.
  if (value.length * 3 > maxTopicBytes && utf8.encode(value).length > maxTopicBytes)
    throw new SluiceError(code, `A topic is at most ${maxTopicBytes} bytes long`);
}

/** True when a valid filter matches a valid topic name, with MQTT semantics. */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  // [MQTT-4.7.2-1] wildcards in the first level do not match topics starting with '$'.
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let i = 0; i < filterLevels.length; i++) {
    const level = filterLevels[i];
    if (level === '#') return true; // also matches the parent level [MQTT-4.7.1-2]
    if (i >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[i]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
