import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { classifyKafkaError, inboundMessage, kafkaClientConfig, keyFor } from '../../core/bridges/kafka-upstream.ts';
import type { OutboundMessage } from '../../core/bridges/upstream.ts';
import {
  kafkaTopicFor,
  parseBridgeConfig,
  type BridgeConfigInput,
  type KafkaUpstreamConfig,
} from '../../core/schema/bridge-config.ts';
import { SluiceError } from '../../core/errors.ts';

// The pure parts of the Kafka upstream: config, topic templates, keys, header mapping, error
// kinds. The wire behaviour is tested against a real Kafka-protocol broker in
// test/integration/bridge-kafka*.test.ts.

const base: BridgeConfigInput = {
  name: 'analytics',
  upstream: { protocol: 'kafka', brokers: ['127.0.0.1:9092'] },
  out: { topics: [{ filter: 'plant/#' }] },
};

const outbound = (localTopic: string, headers: Record<string, string> = {}): OutboundMessage => ({
  topic: localTopic,
  localTopic,
  payload: Buffer.from('x'),
  headers,
  priority: 4,
  expiresAt: null,
});

describe('kafka bridge config', () => {
  test('a minimal kafka bridge gets idempotence, the topic key and the kafka/{topic} inbound template by default', () => {
    const config = parseBridgeConfig(base);
    const upstream = config.upstream as KafkaUpstreamConfig;
    assert.equal(upstream.idempotent, true);
    assert.equal(upstream.localTopic, 'kafka/{topic}');
    assert.equal(upstream.fromBeginning, true);
  });

  test('SASL without credentials, an inbound bridge without consumeTopics and a broker without port are refused with every problem named', () => {
    assert.throws(
      () =>
        parseBridgeConfig({
          ...base,
          direction: 'both',
          upstream: { protocol: 'kafka', brokers: ['kafka1'], sasl: 'scram-sha-512' },
        }),
      (error: unknown) =>
        error instanceof SluiceError &&
        error.code === 'invalid-config' &&
        /brokers\.0: must be host:port/.test(error.message) &&
        /consumeTopics/.test(error.message) &&
        /needs credentials/.test(error.message),
    );
  });

  test('a kafka topic template with characters Kafka does not allow is refused', () => {
    assert.throws(() =>
      parseBridgeConfig({
        ...base,
        upstream: { protocol: 'kafka', brokers: ['k:9092'], topics: [{ filter: '#', kafkaTopic: 'plant/{1}' }] },
      }),
    );
  });

  test('TLS and SASL SCRAM become the kafkajs ssl and sasl options; the client retries only briefly', () => {
    const config = parseBridgeConfig({
      ...base,
      upstream: { protocol: 'kafka', brokers: ['k1:9093', 'k2:9093'], sasl: 'scram-sha-256' },
      credentials: { username: 'line1', password: 'secret' },
      tls: { enabled: true, ca: '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', servername: 'kafka' },
    });
    const options = kafkaClientConfig(config.upstream as KafkaUpstreamConfig, { config, brokerId: 'abcdef0123' });
    assert.deepEqual(options.brokers, ['k1:9093', 'k2:9093']);
    assert.equal(options.clientId, 'sluice-abcdef01-analytics');
    assert.deepEqual(options.sasl, { mechanism: 'scram-sha-256', username: 'line1', password: 'secret' });
    assert.ok(options.ssl && typeof options.ssl === 'object');
    assert.equal((options.ssl as { servername?: string }).servername, 'kafka');
    assert.equal((options.ssl as { rejectUnauthorized?: boolean }).rejectUnauthorized, true);
    assert.equal(options.retry?.retries, 2);
  });

  test('without TLS and SASL no ssl or sasl option is given', () => {
    const config = parseBridgeConfig(base);
    const options = kafkaClientConfig(config.upstream as KafkaUpstreamConfig, { config, brokerId: 'b' });
    assert.equal(options.ssl, undefined);
    assert.equal(options.sasl, undefined);
  });
});

describe('kafka topic templates and keys', () => {
  test('levels and the whole topic fill the template; characters Kafka does not allow become _', () => {
    assert.equal(kafkaTopicFor('plant.{2}.{3}', 'plant/p1/line 2/workorder'), 'plant.p1.line_2');
    assert.equal(kafkaTopicFor('{topic}', 'a/b/c'), 'a.b.c');
    assert.equal(kafkaTopicFor('x.{9}', 'a/b'), 'x.');
  });

  test('the key comes from the topic, a level, a header, or nothing', () => {
    const message = outbound('plant/p1/line2/workorder', { order: 'PO-7' });
    assert.equal(keyFor({ from: 'topic' }, message), 'plant/p1/line2/workorder');
    assert.equal(keyFor({ from: 'level', level: 3 }, message), 'line2');
    assert.equal(keyFor({ from: 'level', level: 9 }, message), null);
    assert.equal(keyFor({ from: 'header', header: 'order' }, message), 'PO-7');
    assert.equal(keyFor({ from: 'none' }, message), null);
  });
});

describe('kafka records into Sluice messages', () => {
  const upstream = parseBridgeConfig({
    ...base,
    direction: 'in',
    upstream: { protocol: 'kafka', brokers: ['k:1'], consumeTopics: ['mes.orders'], localTopic: 'kafka/{topic}/{key}' },
  }).upstream as KafkaUpstreamConfig;
  const record = (headers: KafkaMessage['headers'], key: string | null = 'K1'): KafkaMessage =>
    ({
      key: key === null ? null : Buffer.from(key),
      value: Buffer.from('v'),
      headers,
      offset: '41',
      timestamp: '0',
      attributes: 0,
    }) as KafkaMessage;

  test('named headers become fields, the rest stay headers, and the Kafka position is added', () => {
    const message = inboundMessage(
      upstream,
      'mes.orders',
      1,
      record({
        'content-type': Buffer.from('application/json'),
        'correlation-id': 'c1',
        'reply-to': 'plant/replies',
        station: Buffer.from('S1'),
      }),
    );
    assert.equal(message.topic, 'kafka/mes/orders/K1');
    assert.equal(message.contentType, 'application/json');
    assert.equal(message.correlationId, 'c1');
    assert.equal(message.replyTo, 'plant/replies');
    assert.deepEqual(message.headers, {
      station: 'S1',
      'kafka-topic': 'mes.orders',
      'kafka-partition': '1',
      'kafka-offset': '41',
    });
  });

  test('a sluice-topic header names the Sluice topic', () => {
    const message = inboundMessage(upstream, 'mes.orders', 0, record({ 'sluice-topic': 'cell/7/cmd' }, null));
    assert.equal(message.topic, 'cell/7/cmd');
    assert.equal(message.headers['sluice-topic'], undefined);
  });
});

describe('kafka error kinds', () => {
  test('SASL failures are auth, oversized messages are refused, unknown topics are protocol, connection errors are network', () => {
    assert.equal(
      classifyKafkaError(Object.assign(new Error('bad'), { name: 'KafkaJSSASLAuthenticationError' })).kind,
      'auth',
    );
    assert.equal(
      classifyKafkaError(Object.assign(new Error('big'), { type: 'MESSAGE_TOO_LARGE' })).kind,
      'refused-message',
    );
    assert.equal(
      classifyKafkaError(
        Object.assign(new Error('retries'), {
          cause: Object.assign(new Error('x'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' }),
        }),
      ).kind,
      'protocol',
    );
    assert.equal(
      classifyKafkaError(Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' }))
        .kind,
      'network',
    );
  });
});
