import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { waitFor } from '../helpers/wait.ts';

/** Connects MQTT.js as an MQTT 5 client and waits for CONNACK. */
export function connect5(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/**
 * Connects MQTT.js (MQTT 5) with a collector attached before CONNACK, so that a resumed session's
 * backlog is not missed; resolves with the CONNACK too.
 */
export async function connectCollecting5(
  url: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient; received: Received5[]; sessionPresent: boolean }> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...options });
  const received = collect5(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, received, sessionPresent: connack.sessionPresent };
}

/** A received PUBLISH with its MQTT 5 properties. */
export interface Received5 {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  properties: Record<string, unknown>;
}

/** Collects what an MQTT.js client receives, properties included. */
export function collect5(client: MqttClient): Received5[] {
  const received: Received5[] = [];
  client.on('message', (topic, payload, packet) =>
    received.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      properties: { ...(packet.properties ?? {}) },
    }),
  );
  return received;
}

interface MqttPacketModule {
  generate(packet: object, options?: { protocolVersion: number }): Buffer;
  parser(options?: { protocolVersion: number }): {
    on(event: 'packet', listener: (packet: RawPacket) => void): void;
    on(event: 'error', listener: (error: Error) => void): void;
    parse(buffer: Buffer): number;
  };
}

/** A packet as mqtt-packet parses it. */
export interface RawPacket {
  cmd: string;
  messageId?: number;
  reasonCode?: number;
  topic?: string;
  payload?: Buffer;
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  properties?: Record<string, unknown>;
  granted?: number[];
  sessionPresent?: boolean;
}

const mqttPacket = createRequire(import.meta.url)('mqtt-packet') as MqttPacketModule;

/**
 * An MQTT 5 client on a raw socket built on mqtt-packet: the test decides every byte it sends
 * (PUBACKs with reason codes and reason strings, no automatic acks, invalid topic aliases).
 */
export class RawClient5 {
  readonly packets: RawPacket[] = [];
  /** The cmd of every packet received, in order (taking packets does not remove them here). */
  readonly order: string[] = [];
  closed = false;
  private constructor(private readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet) => {
      this.order.push(packet.cmd);
      this.packets.push(packet);
    });
    parser.on('error', () => socket.destroy());
    socket.on('data', (data) => parser.parse(data));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => {});
  }

  /** Connects and waits for CONNACK. */
  static async open(
    port: number,
    connect: Record<string, unknown>,
  ): Promise<{ client: RawClient5; connack: RawPacket }> {
    const socket = netConnect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const client = new RawClient5(socket);
    client.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, ...connect });
    const connack = await client.next('connack');
    return { client, connack };
  }

  send(packet: Record<string, unknown>): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: 5 }));
  }

  /** Waits for the first packet of `cmd` not taken yet, and takes it. */
  async next(cmd: string, timeoutMs = 5000): Promise<RawPacket> {
    await waitFor(() => this.packets.some((p) => p.cmd === cmd), { timeoutMs, what: cmd });
    const index = this.packets.findIndex((p) => p.cmd === cmd);
    return this.packets.splice(index, 1)[0]!;
  }

  /** Writes raw bytes (packets mqtt-packet would not build). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** PUBLISHes received and not taken. */
  publishes(): RawPacket[] {
    return this.packets.filter((p) => p.cmd === 'publish');
  }

  close(): void {
    this.socket.destroy();
  }
}
