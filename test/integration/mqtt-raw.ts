import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { waitFor } from '../helpers/wait.ts';

interface MqttPacketModule {
  generate(packet: object, options?: { protocolVersion: number }): Buffer;
  parser(options?: { protocolVersion: number }): {
    on(event: 'packet', listener: (packet: RawPacket311) => void): void;
    on(event: 'error', listener: (error: Error) => void): void;
    parse(buffer: Buffer): number;
  };
}

/** A packet as mqtt-packet parses it (MQTT 3.1 / 3.1.1). */
export interface RawPacket311 {
  cmd: string;
  messageId?: number;
  returnCode?: number;
  sessionPresent?: boolean;
  topic?: string;
  payload?: Buffer;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  granted?: number[];
}

const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as MqttPacketModule;

/**
 * An MQTT 3.1.1 (or 3.1) client on a raw socket built on mqtt-packet: the test decides every byte
 * it sends (CONNECTs MQTT.js would not send, no automatic acks).
 */
export class RawClient {
  readonly packets: RawPacket311[] = [];
  /** The cmd of every packet received, in order (taking packets does not remove them here). */
  readonly order: string[] = [];
  closed = false;
  private constructor(
    private readonly socket: Socket,
    private readonly protocolVersion: number,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (packet) => {
      this.order.push(packet.cmd);
      this.packets.push(packet);
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (data) => parser.parse(data));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /**
   * Connects (3.1.1 unless `connect` says otherwise) and waits for CONNACK. The CONNECT is built
   * here byte by byte: mqtt-packet refuses to encode the ones the spec tells a server to reject.
   */
  static async open(
    port: number,
    connect: { clientId: string; clean: boolean; protocolVersion?: 3 | 4 | 5; keepalive?: number },
  ): Promise<{
    client: RawClient;
    connack: RawPacket311 & { reasonCode?: number; properties?: Record<string, unknown> };
  }> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const version = connect.protocolVersion ?? 4;
    const client = new RawClient(socket, version);
    socket.write(connectBytes(connect.clientId, connect.clean, version, connect.keepalive ?? 60));
    const connack = await client.next('connack');
    return { client, connack };
  }

  send(packet: Record<string, unknown>): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Waits for the first packet of `cmd` not taken yet, and takes it. */
  async next(cmd: string, timeoutMs = 5000): Promise<RawPacket311> {
    await waitFor(() => this.packets.some((p) => p.cmd === cmd), { timeoutMs, what: cmd });
    const index = this.packets.findIndex((p) => p.cmd === cmd);
    return this.packets.splice(index, 1)[0]!;
  }

  /** Writes raw bytes (packets mqtt-packet would not build). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** PUBLISHes received and not taken. */
  publishes(): RawPacket311[] {
    return this.packets.filter((p) => p.cmd === 'publish');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A CONNECT without will, user name or password (§3.1), any client id. */
export function connectBytes(
  clientId: string,
  clean: boolean,
  protocolVersion: 3 | 4 | 5,
  keepaliveSec: number,
): Buffer {
  const name = Buffer.from(protocolVersion === 3 ? 'MQIsdp' : 'MQTT');
  const id = Buffer.from(clientId);
  const body = Buffer.concat([
    Buffer.from([name.length >> 8, name.length & 0xff]),
    name,
    Buffer.from([protocolVersion, clean ? 0x02 : 0x00, keepaliveSec >> 8, keepaliveSec & 0xff]),
    protocolVersion === 5 ? Buffer.from([0]) : Buffer.alloc(0),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
