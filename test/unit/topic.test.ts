import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SluiceError } from '../../core/errors.ts';
import { assertTopicFilter, assertTopicName, topicMatches } from '../../core/schema/topic.ts';
import { TopicTrie } from '../../core/engine/topic-trie.ts';

describe('topic names and filters', () => {
  test('a publish topic with a wildcard is refused as invalid-topic', () => {
    for (const topic of ['a/+/c', 'a/#', '#', '+', ''])
      assert.throws(
        () => assertTopicName(topic),
        (e: unknown) => e instanceof SluiceError && e.code === 'invalid-topic',
      );
  });

  test("'#' is legal only as the whole last level, '+' only as a whole level", () => {
    for (const ok of ['#', 'a/#', '+', 'a/+/c', '+/+', 'a//b', '/'] as const) assertTopicFilter(ok);
    for (const bad of ['a/#/c', 'a#', 'a/b#', 'a+', 'a/+b', '']) {
      assert.throws(
        () => assertTopicFilter(bad),
        (e: unknown) => e instanceof SluiceError && e.code === 'invalid-topic-filter',
        bad,
      );
    }
  });

  test('matching follows MQTT 3.1.1 section 4.7', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b/c', 'a/b/c', true],
      ['a/+/c', 'a/b/c', true],
      ['a/+/c', 'a/b/d', false],
      ['a/#', 'a', true], // '#' also matches the parent [MQTT-4.7.1-2]
      ['a/#', 'a/b/c', true],
      ['#', 'a/b', true],
      ['+', 'a/b', false],
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['#', '$SYS/broker', false], // [MQTT-4.7.2-1]
      ['+/broker', '$SYS/broker', false],
      ['$SYS/#', '$SYS/broker', true],
    ];
    for (const [filter, topic, expected] of cases)
      assert.equal(topicMatches(filter, topic), expected, `${filter} ~ ${topic}`);
  });
});

const level = fc.constantFrom('a', 'b', 'c', '', '$x');
const topicArb = fc.array(level, { minLength: 1, maxLength: 4 }).map((levels) => levels.join('/'));
const filterArb = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', 'c', '', '+', '$x'), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));

describe('topic trie', () => {
  test('matches exactly the filters a linear scan matches (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filterArb, { maxLength: 30 }), topicArb, (filters, topic) => {
        const trie = new TopicTrie<string>();
        for (const f of filters) trie.add(f, f);
        const expected = filters.filter((f) => topicMatches(f, topic)).sort();
        assert.deepEqual([...trie.match(topic)].sort(), expected);
      }),
      { numRuns: 2000 },
    );
  });

  test('removing every filter leaves an empty trie that matches nothing (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filterArb, { maxLength: 20 }), topicArb, (filters, topic) => {
        const trie = new TopicTrie<string>();
        for (const f of filters) trie.add(f, f);
        for (const f of filters) assert.ok(trie.remove(f, f));
        assert.equal(trie.size, 0);
        assert.equal(trie.match(topic).size, 0);
      }),
    );
  });

  test('matching between adds and removes always answers for the trie as it is now (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), filterArb), { maxLength: 30 }),
        fc.array(topicArb, { minLength: 1, maxLength: 3 }),
        (steps, topics) => {
          const trie = new TopicTrie<string>();
          const held = new Set<string>();
          for (const [adding, filter] of steps) {
            if (adding) {
              trie.add(filter, filter);
              held.add(filter);
            } else {
              trie.remove(filter, filter);
              held.delete(filter);
            }
            for (const topic of topics) {
              const expected = [...held].filter((f) => topicMatches(f, topic)).sort();
              assert.deepEqual([...trie.match(topic)].sort(), expected);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a value subscribed with two matching filters is returned once', () => {
    const trie = new TopicTrie<string>();
    trie.add('a/+', 'q');
    trie.add('a/#', 'q');
    assert.deepEqual([...trie.match('a/b')], ['q']);
  });
});
