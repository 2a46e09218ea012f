import type { Client } from 'aedes';

/**
 * Parses the common PUBLISH and PUBACK straight from the chunk the socket gave, instead of through
 * mqtt-packet's byte list: its state machine makes a new Buffer view per step (header, length,
 * topic, and the consumed packet) and cost about 700 ns a packet against about 150 here
 * (docs/benchmarks.md). Only what this can prove well-formed takes this path: a PUBLISH wholly in
 * the chunk, with a QoS below 3, an ASCII topic without U+0000, within `maxBytes`, and (MQTT 5) no
 * properties; a PUBACK of just a packet id. At the first packet that is anything else, the rest of the chunk goes to
 * mqtt-packet's own parse with every check of packet-guards.ts, so a malformed packet gets the
 * same answer either way. The packets are mqtt-packet's own class with the same fields in the
 * same order, emitted as it emits them.
 */
export function parsePublishesInPlace(client: Client, maxBytes: number): void {
  const parser = (client as unknown as { _parser: PacketParser })._parser;
  const parse = parser.parse;
  const Packet = parser.packet.constructor as new () => ParsedPacket;
  /** Chunks given while a chunk is being parsed (a packet handler read the socket again). */
  let later: Buffer[] | null = null;

  /** One chunk: a packet begun before is completed by mqtt-packet, then the PUBLISHes here. */
  const parseChunk = (buf: Buffer): void => {
    let rest = buf;
    if (parser.error || parser._stateCounter !== 0 || parser._list.length !== 0) {
      // What the packet in progress lacks is known once its length was read (state 2: its body).
      const lacking =
        parser._stateCounter === 2 && !parser.error ? parser.packet.length - parser._list.length : Infinity;
      if (lacking >= buf.length) {
        parse.call(parser, buf);
        return;
      }
      parse.call(parser, buf.subarray(0, lacking));
      rest = buf.subarray(lacking);
      // After an error mqtt-packet drops the rest of the chunk (the connection closes).
      if (parser.error) return;
      if (parser._stateCounter !== 0 || parser._list.length !== 0) {
        parse.call(parser, rest);
        return;
      }
    }
    const tail = emitPublishes(parser, rest, Packet, maxBytes);
    if (tail) parse.call(parser, tail);
  };

  parser.parse = function parseInPlace(buf: Buffer): number {
    if (later) {
      // Re-entered from a packet handler: parsed after what is left of the current chunk, in order.
      later.push(buf);
      return parser._list.length;
    }
    const pending: Buffer[] = [];
    later = pending;
    try {
      parseChunk(buf);
    } finally {
      later = null;
    }
    for (const next of pending) parser.parse(next);
    return parser._list.length;
  };
}

/** Emits the leading PUBLISHes and PUBACKs of `buf` this path takes; answers the rest (null: none left). */
function emitPublishes(
  parser: PacketParser,
  buf: Buffer,
  Packet: new () => ParsedPacket,
  maxBytes: number,
): Buffer | null {
  const v5 = parser.settings.protocolVersion === 5;
  let at = 0;
  while (at < buf.length && !parser.error) {
    const first = buf[at]!;
    if (first === pubackHeader && buf[at + 1] === 2 && at + 4 <= buf.length && maxBytes >= 2) {
      // PUBACK of a QoS 1 delivery, nothing but its packet id (MQTT 5: reason code 0, success).
      const packet = new Packet();
      packet.cmd = 'puback';
      packet.length = 2;
      packet.messageId = (buf[at + 2]! << 8) | buf[at + 3]!;
      if (v5) packet.reasonCode = 0;
      at += 4;
      parser.emit('packet', packet);
      continue;
    }
    const qos = (first >> 1) & 3;
    if (first >> 4 !== publishType || qos === 3) break;
    // Remaining length: a variable byte integer of at most 4 bytes.
    let length = 0;
    let multiplier = 1;
    let i = at + 1;
    let complete = false;
    for (let n = 0; n < 4 && i < buf.length; n++) {
      const byte = buf[i++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 0x80;
      if ((byte & 0x80) === 0) {
        complete = true;
        break;
      }
    }
    const end = i + length;
    if (!complete || length > maxBytes || end > buf.length || length < 2) break;
    const topicStart = i + 2;
    const topicEnd = topicStart + ((buf[i]! << 8) | buf[i + 1]!);
    if (topicEnd > end || !plainAscii(buf, topicStart, topicEnd)) break;
    let pos = topicEnd;
    if (qos > 0 && pos + 2 > end) break;
    const messageId = qos > 0 ? (buf[pos]! << 8) | buf[pos + 1]! : 0;
    if (qos > 0) pos += 2;
    if (v5) {
      // Properties length 0 (one byte); any property is left to mqtt-packet and its checks.
      if (pos >= end || buf[pos] !== 0) break;
      pos++;
    }
    const packet = new Packet();
    packet.cmd = 'publish';
    packet.retain = (first & 1) !== 0;
    packet.qos = qos;
    packet.dup = (first & 8) !== 0;
    packet.length = length;
    packet.topic = buf.toString('latin1', topicStart, topicEnd);
    if (qos > 0) packet.messageId = messageId;
    packet.payload = buf.subarray(pos, end);
    at = end;
    parser.emit('packet', packet);
  }
  if (parser.error) return null;
  return at === buf.length ? null : at === 0 ? buf : buf.subarray(at);
}

/** The fixed header's packet type of a PUBLISH. */
const publishType = 3;
/** The first byte of a PUBACK (type 4, flags 0). */
const pubackHeader = 0x40;

/** Bytes 0x01–0x7F only: well-formed UTF-8 without U+0000 ([MQTT-1.5.3-1], [MQTT-1.5.3-2]). */
function plainAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    if (byte === 0 || byte > 0x7f) return false;
  }
  return true;
}

/** What mqtt-packet's Parser emits for a PUBLISH (node_modules/mqtt-packet/packet.js). */
interface ParsedPacket {
  cmd: string | null;
  retain: boolean;
  qos: number;
  dup: boolean;
  length: number;
  topic: string | null;
  messageId?: number;
  reasonCode?: number;
  payload: Buffer | null;
}

/** The part of mqtt-packet's Parser this uses (node_modules/mqtt-packet/parser.js). */
interface PacketParser {
  packet: ParsedPacket;
  error: Error | null;
  settings: { protocolVersion?: number };
  _stateCounter: number;
  _list: { length: number };
  parse(this: PacketParser, buf: Buffer): number;
  emit(event: 'packet', packet: ParsedPacket): boolean;
}
