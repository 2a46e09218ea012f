import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { waitFor } from '../helpers/wait.ts';

// Packets built byte by byte, for the conformance tests that send what no client library would
// (ill-formed UTF-8, empty SUBSCRIBEs, wrong protocol names) or read what it would hide (reserved bits).

const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as {
  generate(packet: object, options?: { protocolVersion: number }): Buffer;
};

/** mqtt-packet's encoding of a packet (for well-formed packets sent in one write with others). */
export function generate(packet: Record<string, unknown>, protocolVersion: 4 | 5): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

/** A UTF-8 string field (§1.5.3): a two-byte length, then the bytes as given. */
export function field(text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** A packet: the first byte (type and flags), the remaining length (variable byte integer), the body. */
export function frame(firstByte: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  const length: number[] = [];
  let value = rest.length;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    length.push(byte);
  } while (value > 0);
  return Buffer.concat([Buffer.from([firstByte, ...length]), rest]);
}

/** A PUBLISH QoS 1 (packet id 1) to `topic`, given as raw bytes; MQTT 5 adds an empty property block. */
export function publishBytes(topic: Buffer, payload: string, protocolVersion: 4 | 5): Buffer {
  return frame(
    0x32,
    field(topic),
    Buffer.from([0, 1]),
    protocolVersion === 5 ? Buffer.from([0]) : Buffer.alloc(0),
    Buffer.from(payload),
  );
}

/** A SUBSCRIBE (packet id 1) of one filter given as raw bytes, at QoS 1. */
export function subscribeBytes(filter: Buffer, protocolVersion: 4 | 5): Buffer {
  const properties = protocolVersion === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return frame(0x82, Buffer.from([0, 1]), properties, field(filter), Buffer.from([1]));
}

/** An UNSUBSCRIBE (packet id 2) of one filter given as raw bytes. */
export function unsubscribeBytes(filter: Buffer, protocolVersion: 4 | 5): Buffer {
  const properties = protocolVersion === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  return frame(0xa2, Buffer.from([0, 2]), properties, field(filter));
}

/** A socket that records every byte the broker sends, and whether it closed; no MQTT parsing. */
export class ByteSocket {
  private chunks: Buffer[] = [];
  closed = false;
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<ByteSocket> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    return new ByteSocket(socket);
  }

  /** Everything received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async waitClosed(what: string): Promise<void> {
    await waitFor(() => this.closed, { what });
  }

  close(): void {
    this.socket.destroy();
  }
}
