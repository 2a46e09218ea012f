import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  limitPacketSize,
  refuseEmptySubscribe,
  refuseForeignProperties,
  refuseInvalidUtf8,
} from '../../core/protocols/mqtt/packet-guards.ts';
import { parsePublishesInPlace } from '../../core/protocols/mqtt/publish-parse.ts';

// The in-place PUBLISH parse must be invisible: for any byte stream, cut into any chunks, a parser
// with it emits the same packets and the same first error as mqtt-packet's own parser with the
// same guards (packet-guards.ts). It also stays in order when a packet handler makes it parse
// again (aedes' nextBatch could), which mqtt-packet alone does not: re-entered, it emits the
// packet in hand a second time, so the reference here is never re-entered.
interface Parser {
  on(event: 'packet', listener: (packet: Record<string, unknown>) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  parse(buffer: Buffer): number;
}
const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  generate(packet: object, options?: object): Buffer;
  parser(options?: object): Parser;
};

const maxBytes = 400;

/** A parser as the listener sets it up: the guards, and the in-place parse when `inPlace`. */
function parserWith(inPlace: boolean): Parser {
  const parser = mqttPacket.parser();
  // The guards and the in-place parse take an aedes client and use only its parser.
  const holder = { _parser: parser } as unknown as Parameters<typeof limitPacketSize>[0];
  limitPacketSize(holder, maxBytes);
  refuseInvalidUtf8(holder);
  refuseEmptySubscribe(holder);
  refuseForeignProperties(holder);
  if (inPlace) parsePublishesInPlace(holder, maxBytes);
  return parser;
}

/** What a parser emitted for `chunks`; with `reenterAt`, the k-th packet's handler feeds the next chunk. */
function run(inPlace: boolean, chunks: readonly Buffer[], reenterAt: number | null): string[] {
  const parser = parserWith(inPlace);
  const seen: string[] = [];
  let next = 0;
  parser.on('packet', (packet) => {
    seen.push(JSON.stringify({ ...packet, payload: (packet.payload as Buffer | undefined)?.toString('hex') }));
    // As aedes' nextBatch does when a handler finishes at once: read the socket again, re-entering parse.
    if (seen.length === reenterAt && next < chunks.length) parser.parse(chunks[next++]!);
  });
  parser.on('error', (error) => seen.push(`error: ${error.message}`));
  while (next < chunks.length) parser.parse(chunks[next++]!);
  return seen;
}

const topicArb = fc.constantFrom('a', 'plant/line-7/temp', '', 'ü/€', 'bench/t/0', 'x'.repeat(90), 'a\u0000b', 'a/+');
const publishArb = fc.record({
  cmd: fc.constant('publish'),
  topic: topicArb,
  payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  qos: fc.constantFrom(0, 1, 2),
  retain: fc.boolean(),
  dup: fc.boolean(),
  messageId: fc.integer({ min: 1, max: 65_535 }),
});
const otherArb = fc.oneof(
  fc.record({ cmd: fc.constant('puback'), messageId: fc.integer({ min: 1, max: 65_535 }) }),
  // MQTT 5: a PUBACK with a reason code (3 bytes) or a reason string (properties).
  fc.constantFrom(
    { cmd: 'puback', messageId: 8, reasonCode: 0x10 },
    { cmd: 'puback', messageId: 8, reasonCode: 0x87, properties: { reasonString: 'no' } },
    { cmd: 'pingreq' },
    { cmd: 'subscribe', messageId: 9, subscriptions: [{ topic: 'a/#', qos: 1 }] },
  ),
);
/**
 * Bytes mqtt-packet does not generate: an MQTT 5 PUBACK of just a packet id (success), and
 * malformed ones: QoS 3, a remaining length of five bytes, a truncated topic length.
 */
const rawArb = fc.constantFrom(
  Buffer.from([0x40, 0x02, 0x01, 0x05]),
  Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]),
  Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
  Buffer.from([0x30, 0x01, 0x00]),
);

function streamArb(version: 4 | 5) {
  const properties = fc.constantFrom(undefined, { contentType: 'text/plain' }, { userProperties: { k: 'v' } });
  const publish =
    version === 5
      ? fc.tuple(publishArb, properties).map(([packet, props]) => (props ? { ...packet, properties: props } : packet))
      : publishArb;
  const packet = fc.oneof(
    { weight: 8, arbitrary: publish.map((p) => mqttPacket.generate(p, { protocolVersion: version })) },
    { weight: 2, arbitrary: otherArb.map((p) => mqttPacket.generate(p, { protocolVersion: version })) },
    { weight: 1, arbitrary: rawArb },
  );
  const connect = mqttPacket.generate({ cmd: 'connect', protocolVersion: version, clientId: 'c', clean: true });
  return fc
    .tuple(fc.array(packet, { maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 12 }))
    .map(([packets, cuts]) => {
      const stream = Buffer.concat([connect, ...packets]);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const cut of cuts) {
        if (at >= stream.length) break;
        chunks.push(stream.subarray(at, Math.min(stream.length, at + cut)));
        at += cut;
      }
      if (at < stream.length) chunks.push(stream.subarray(at));
      return chunks;
    });
}

for (const version of [4, 5] as const) {
  test(`MQTT ${version === 4 ? '3.1.1' : '5'}: any stream in any chunks parses to what mqtt-packet parses (property)`, () => {
    fc.assert(
      fc.property(streamArb(version), fc.option(fc.integer({ min: 1, max: 20 })), (chunks, reenterAt) => {
        assert.deepEqual(run(true, chunks, reenterAt), run(false, chunks, null));
      }),
      { numRuns: 400 },
    );
  });
}

test('a chunk of whole PUBLISHes and one split across two chunks parse to the same packets', () => {
  const publish = (i: number) =>
    mqttPacket.generate({
      cmd: 'publish',
      topic: `t/${i}`,
      payload: Buffer.alloc(50, i),
      qos: i % 2,
      messageId: i + 1,
    });
  const stream = Buffer.concat(Array.from({ length: 40 }, (_, i) => publish(i)));
  const chunks = [stream.subarray(0, 1000), stream.subarray(1000, 1001), stream.subarray(1001)];
  const packets = run(true, chunks, null);
  assert.equal(packets.length, 40);
  assert.deepEqual(packets, run(false, chunks, null));
});
