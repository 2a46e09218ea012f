// The wire format of the PUBLISHes a session sends (§3.3, 3.1.1 and 5): the outbox writes a tick's as one buffer.

/** A PUBLISH Sluice sends. */
export interface OutgoingPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  /** MQTT 5 only: the encoded properties (`encodeProperties`); absent for 3.1.1 clients. */
  properties?: Buffer;
}

/** Bytes of one PUBLISH on the wire, properties included. */
export function packetBytes(packet: OutgoingPacket): number {
  const remaining = publishRemainingLength(packet, Buffer.byteLength(packet.topic));
  return 1 + varIntBytes(remaining) + remaining;
}

function publishRemainingLength(packet: OutgoingPacket, topicLength: number): number {
  return 2 + topicLength + (packet.qos > 0 ? 2 : 0) + (packet.properties?.length ?? 0) + packet.payload.length;
}

/**
 * PUBLISH packets (§3.3), concatenated into one buffer: fixed header (type, DUP, QoS, RETAIN),
 * remaining length, topic, packet identifier when QoS > 0, for MQTT 5 the encoded properties
 * (`properties`), payload. A packet without `properties` is MQTT 3.1 / 3.1.1.
 */
export function encodePublishes(packets: readonly OutgoingPacket[]): Buffer {
  const topicBytes: number[] = [];
  let total = 0;
  for (const packet of packets) {
    const topicLength = Buffer.byteLength(packet.topic);
    topicBytes.push(topicLength);
    const remaining = publishRemainingLength(packet, topicLength);
    total += 1 + varIntBytes(remaining) + remaining;
  }
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  packets.forEach((packet, i) => {
    const topicLength = topicBytes[i]!;
    const remaining = publishRemainingLength(packet, topicLength);
    buffer[offset++] = 0x30 | (packet.dup ? 0x08 : 0) | (packet.qos << 1) | (packet.retain ? 0x01 : 0);
    let length = remaining;
    do {
      let byte = length % 128;
      length = Math.floor(length / 128);
      if (length > 0) byte |= 0x80;
      buffer[offset++] = byte;
    } while (length > 0);
    buffer.writeUInt16BE(topicLength, offset);
    offset += 2;
    offset += buffer.write(packet.topic, offset, topicLength, 'utf8');
    if (packet.qos > 0) {
      buffer.writeUInt16BE(packet.messageId!, offset);
      offset += 2;
    }
    if (packet.properties) offset += packet.properties.copy(buffer, offset);
    offset += packet.payload.copy(buffer, offset);
  });
  return buffer;
}

function varIntBytes(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}
