import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { encodeProperties, inboundFields, type PublishProperties } from '../../core/protocols/mqtt/properties.ts';
import { encodePublishes, type OutgoingPacket } from '../../core/protocols/mqtt/publish-encoding.ts';

// MQTT 5 PUBLISHes written by the session (properties included) must be byte for byte what
// mqtt-packet generates with protocolVersion 5, and parse back to the same properties.
const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  generate(packet: object, options?: object): Buffer;
  parser(options?: object): {
    on(event: 'packet', listener: (packet: Record<string, unknown>) => void): void;
    parse(buffer: Buffer): number;
  };
};

const cases: Array<{ packet: Omit<OutgoingPacket, 'properties'>; properties: PublishProperties }> = [
  {
    packet: { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
    properties: {},
  },
  {
    packet: {
      cmd: 'publish',
      topic: 'plant/t',
      payload: Buffer.from('21'),
      qos: 1,
      retain: true,
      dup: true,
      messageId: 7,
    },
    properties: {
      payloadFormatIndicator: true,
      messageExpiryInterval: 3600,
      contentType: 'application/json',
      responseTopic: 'reply/to',
      correlationData: Buffer.from([0, 1, 2, 255]),
      subscriptionIdentifier: [3, 200_000],
      userProperties: { unit: 'C', ü: '€' },
    },
  },
  {
    packet: {
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(20_000, 1),
      qos: 2,
      retain: false,
      dup: false,
      messageId: 65_535,
    },
    properties: { subscriptionIdentifier: 1, topicAlias: 9, userProperties: { many: ['a', 'b'] } },
  },
];

test('each MQTT 5 PUBLISH is encoded exactly as mqtt-packet encodes it', () => {
  for (const { packet, properties } of cases) {
    const ours = encodePublishes([{ ...packet, properties: encodeProperties(properties) }]);
    const theirs = mqttPacket.generate({ ...packet, properties }, { protocolVersion: 5 });
    assert.deepEqual(ours, theirs, packet.topic);
  }
  const all = encodePublishes(
    cases.map(({ packet, properties }) => ({ ...packet, properties: encodeProperties(properties) })),
  );
  const parsed: Array<Record<string, unknown>> = [];
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  parser.on('packet', (p) => parsed.push(p));
  parser.parse(all);
  assert.equal(parsed.length, cases.length);
  assert.deepEqual({ ...(parsed[1]!.properties as { userProperties: object }).userProperties }, { unit: 'C', ü: '€' });
});

test('user properties become headers; bookkeeping headers cannot be forged', () => {
  const fields = inboundFields(
    { userProperties: { 'mqtt-qos': '0', 'sluice-dmq-eligible': 'false', k: ['1', '2'] }, messageExpiryInterval: 5 },
    Buffer.from('x'),
    { 'mqtt-qos': '1' },
  );
  assert.deepEqual(fields.headers, { 'mqtt-qos': '1', 'sluice-dmq-eligible': 'false', k: '1, 2' });
  assert.equal(fields.dmqEligible, false);
  assert.equal(fields.ttlMs, 5000);
});

test('a payload format indicator of UTF-8 on bytes that are not is refused (0x99)', () => {
  assert.throws(
    () => inboundFields({ payloadFormatIndicator: true }, Buffer.from([0xc3, 0x28]), {}),
    (error: { mapping: { mqtt: number } }) => error.mapping.mqtt === 0x99,
  );
});
