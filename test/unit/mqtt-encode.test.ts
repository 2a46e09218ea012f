import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { encodePublishes, type OutgoingPacket } from '../../core/protocols/mqtt/publish-encoding.ts';

// The session writes PUBLISH packets itself (one buffer per burst); they must be byte for byte
// what mqtt-packet (aedes' and MQTT.js' codec) generates, and parse back to the same packets.
const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  generate(packet: object, options?: object): Buffer;
  parser(options?: object): {
    on(event: 'packet', listener: (packet: Record<string, unknown>) => void): void;
    parse(buffer: Buffer): number;
  };
};

const packets: OutgoingPacket[] = [
  { cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false },
  {
    cmd: 'publish',
    topic: 'plant/line-7/temp',
    payload: Buffer.from('21.5'),
    qos: 1,
    retain: false,
    dup: false,
    messageId: 1,
  },
  { cmd: 'publish', topic: 'ü/€/𝄞', payload: Buffer.alloc(200, 7), qos: 2, retain: true, dup: true, messageId: 65_535 },
  // Remaining-length boundaries: 1, 2, 3 bytes.
  ...[127, 128, 16_383, 16_384, 2_097_151, 2_097_152].map((remaining, i): OutgoingPacket => ({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(remaining - 2 - 1 - (i % 2 ? 2 : 0), i),
    qos: i % 2 ? 1 : 0,
    retain: false,
    dup: false,
    ...(i % 2 ? { messageId: 300 + i } : {}),
  })),
];

test('each PUBLISH is encoded exactly as mqtt-packet encodes it (MQTT 3.1.1)', () => {
  for (const packet of packets)
    assert.deepEqual(encodePublishes([packet]), mqttPacket.generate(packet, { protocolVersion: 4 }), packet.topic);
});

test('a burst is the concatenation of its packets and parses back to them in order', () => {
  const buffer = encodePublishes(packets);
  assert.deepEqual(buffer, Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: 4 }))));
  const parsed: Array<Record<string, unknown>> = [];
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (p) => parsed.push(p));
  parser.parse(buffer);
  assert.equal(parsed.length, packets.length);
  parsed.forEach((p, i) => {
    const sent = packets[i]!;
    assert.equal(p.topic, sent.topic);
    assert.deepEqual(p.payload, sent.payload);
    assert.equal(p.qos, sent.qos);
    assert.equal(p.retain, sent.retain);
    assert.equal(p.dup, sent.dup);
    if (sent.qos > 0) assert.equal(p.messageId, sent.messageId);
  });
});

test('an empty burst is an empty buffer', () => {
  assert.equal(encodePublishes([]).length, 0);
});
