import { describe, expect, test } from 'vitest';
import { kafkaBridgeOf, kafkaTopicExample, newKafkaBridgeFields } from './kafka-bridge-form.ts';

describe('Kafka bridge form', () => {
  test('the default fields make a valid outbound bridge keyed by the line level', () => {
    const result = kafkaBridgeOf(newKafkaBridgeFields);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.upstream).toEqual({
      protocol: 'kafka',
      brokers: ['kafka.plant.local:9092'],
      topics: [{ filter: 'plant/+/+/workorder', kafkaTopic: 'plant.{2}.workorders', key: { from: 'level', level: 3 } }],
    });
    expect(JSON.parse(result.json)).toEqual(result.config);
  });

  test('SASL SCRAM with TLS puts credentials and tls in the entry', () => {
    const result = kafkaBridgeOf({
      ...newKafkaBridgeFields,
      sasl: 'scram-sha-512',
      username: 'line1',
      password: 'secret',
      tls: true,
      ca: '/etc/sluice/kafka-ca.pem',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.credentials).toEqual({ username: 'line1', password: 'secret' });
    expect(result.config.tls).toEqual({ enabled: true, ca: '/etc/sluice/kafka-ca.pem' });
  });

  test('an inbound bridge without Kafka topics and a broker without a port are refused with both problems', () => {
    const result = kafkaBridgeOf({ ...newKafkaBridgeFields, direction: 'in', brokers: 'kafka1', consumeTopics: '' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.some((p) => p.includes('must be host:port'))).toBe(true);
    expect(result.problems.some((p) => p.includes('consumeTopics'))).toBe(true);
  });

  test('the example shows where a matching topic lands', () => {
    expect(kafkaTopicExample(newKafkaBridgeFields)).toBe('plant/x2/x3/workorder → plant.x2.workorders');
  });
});
