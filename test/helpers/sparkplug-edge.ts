/**
 * A Sparkplug B edge node simulator over MQTT.js, encoding with the same schema the broker
 * decodes (core/sparkplug/payload.ts): NBIRTH with bdSeq and aliased metrics, DBIRTH, NDATA and
 * DDATA by alias, DDEATH, NDEATH as the MQTT will (kill the socket) or sent explicitly, and an
 * answer to `Node Control/Rebirth` (a new NBIRTH and DBIRTHs), as Sparkplug 3.0 §6.4 asks.
 */
import mqtt, { type MqttClient } from 'mqtt';
import {
  dataTypeNumber,
  decodePayload,
  encodePayload,
  type DataTypeName,
  type SparkplugPayload,
  type SparkplugMetricInput,
} from '../../core/sparkplug/payload.ts';
import { waitFor } from './wait.ts';

/** A metric the simulator declares in its births. */
export interface SimMetric {
  readonly name: string;
  readonly datatype: DataTypeName;
  readonly value: number | boolean | string | bigint;
}

/** How the simulated node is set up. */
export interface EdgeNodeOptions {
  readonly group: string;
  readonly node: string;
  /** The bdSeq of this session (default 0). */
  readonly bdSeq?: number;
  readonly metrics: readonly SimMetric[];
  readonly devices?: ReadonlyArray<{ readonly id: string; readonly metrics: readonly SimMetric[] }>;
  /** Answer an NCMD Node Control/Rebirth with new births (default true). */
  readonly answerRebirth?: boolean;
}

type Payload = SparkplugMetricInput;

/** One simulated edge node with its devices, on its own MQTT connection. */
export class EdgeNode {
  /** NCMD payloads received, decoded. */
  readonly commands: SparkplugPayload[] = [];
  private seq = 0;
  /** Aliases: node metrics 1…, then each device's after them (unique per edge node, §6.4.20). */
  private readonly aliases = new Map<string, number>();

  private constructor(
    private readonly client: MqttClient,
    readonly options: EdgeNodeOptions,
  ) {
    let next = 1;
    for (const metric of options.metrics) this.aliases.set(`/${metric.name}`, next++);
    for (const device of options.devices ?? [])
      for (const metric of device.metrics) this.aliases.set(`${device.id}/${metric.name}`, next++);
    client.on('message', (topic, payload) => {
      if (topic !== this.topic('NCMD')) return;
      const decoded = decodePayload(payload);
      this.commands.push(decoded);
      const rebirth = decoded.metrics.find((m) => m.name === 'Node Control/Rebirth');
      if (rebirth && 'booleanValue' in rebirth && rebirth.booleanValue && options.answerRebirth !== false)
        void this.birth().catch(() => undefined);
    });
  }

  /** Connects with NDEATH (bdSeq) as the MQTT will and subscribes to its NCMD topic. */
  static async connect(url: string, options: EdgeNodeOptions): Promise<EdgeNode> {
    const bdSeq = options.bdSeq ?? 0;
    const client = await mqtt.connectAsync(url, {
      clientId: `edge-${options.group}-${options.node}-${bdSeq}`,
      reconnectPeriod: 0,
      // [tck-id-topics-ndeath-will] NDEATH is registered as the will, with the session's bdSeq.
      will: {
        topic: `spBv1.0/${options.group}/NDEATH/${options.node}`,
        payload: Buffer.from(encodePayload({ timestamp: Date.now(), metrics: [bdSeqMetric(bdSeq)] })),
        qos: 1,
        retain: false,
      },
    });
    await client.subscribeAsync(`spBv1.0/${options.group}/NCMD/${options.node}`, { qos: 1 });
    return new EdgeNode(client, options);
  }

  /** The topic of a node message, or of a device message when `device` is given. */
  topic(type: string, device?: string): string {
    const { group, node } = this.options;
    return `spBv1.0/${group}/${type}/${node}${device === undefined ? '' : `/${device}`}`;
  }

  /** NBIRTH (seq 0, bdSeq, every node metric with name and alias) then each device's DBIRTH. */
  async birth(): Promise<void> {
    this.seq = 0;
    await this.send(this.topic('NBIRTH'), [
      bdSeqMetric(this.options.bdSeq ?? 0),
      ...this.options.metrics.map((m) => this.birthMetric('', m)),
      { name: 'Node Control/Rebirth', datatype: dataTypeNumber('Boolean'), booleanValue: false },
    ]);
    for (const device of this.options.devices ?? [])
      await this.send(
        this.topic('DBIRTH', device.id),
        device.metrics.map((m) => this.birthMetric(device.id, m)),
      );
  }

  /** NDATA with the given metrics by alias only (no names, as births allow). */
  async nodeData(values: Readonly<Record<string, number | boolean | string | bigint>>): Promise<void> {
    await this.send(this.topic('NDATA'), this.byAlias('', this.options.metrics, values));
  }

  /** DDATA for a device, by alias only. */
  async deviceData(
    device: string,
    values: Readonly<Record<string, number | boolean | string | bigint>>,
  ): Promise<void> {
    const metrics = this.options.devices?.find((d) => d.id === device)?.metrics ?? [];
    await this.send(this.topic('DDATA', device), this.byAlias(device, metrics, values));
  }

  /** DDEATH for a device. */
  async deviceDeath(device: string): Promise<void> {
    await this.send(this.topic('DDEATH', device), []);
  }

  /** NDATA with a raw alias no birth declared (what a node whose birth was missed looks like). */
  async dataWithAlias(alias: number, datatype: DataTypeName, value: number): Promise<void> {
    await this.send(this.topic('NDATA'), [{ alias, datatype: dataTypeNumber(datatype), doubleValue: value }]);
  }

  /** Skips `count` sequence numbers, so the next message shows a gap. */
  skipSeq(count: number): void {
    this.seq = (this.seq + count) % 256;
  }

  /** Publishes bytes as they are (malformed payloads). */
  async publishRaw(topic: string, payload: Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  /** Sends NDEATH itself and disconnects cleanly (the will is then not sent). */
  async death(): Promise<void> {
    await this.client.publishAsync(
      this.topic('NDEATH'),
      Buffer.from(encodePayload({ timestamp: Date.now(), metrics: [bdSeqMetric(this.options.bdSeq ?? 0)] })),
      { qos: 1 },
    );
    await this.client.endAsync();
  }

  /** Kills the socket: the broker publishes the will, the NDEATH. */
  kill(): void {
    this.client.stream.destroy();
  }

  /** Ends the connection cleanly (no will). */
  async close(): Promise<void> {
    if (this.client.connected) await this.client.endAsync();
    else this.client.end(true);
  }

  /** Waits until an NCMD has arrived. */
  async waitForCommand(timeoutMs = 10_000): Promise<SparkplugPayload> {
    await waitFor(() => this.commands.length > 0, { timeoutMs, what: `an NCMD at ${this.options.node}` });
    return this.commands[this.commands.length - 1]!;
  }

  private async send(topic: string, metrics: Payload[]): Promise<void> {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    await this.client.publishAsync(topic, Buffer.from(encodePayload({ timestamp: Date.now(), seq, metrics })), {
      qos: 0,
    });
  }

  private birthMetric(device: string, metric: SimMetric): Payload {
    return {
      name: metric.name,
      alias: this.aliases.get(`${device}/${metric.name}`)!,
      timestamp: Date.now(),
      ...valueOf(metric.datatype, metric.value),
    };
  }

  private byAlias(
    device: string,
    declared: readonly SimMetric[],
    values: Readonly<Record<string, number | boolean | string | bigint>>,
  ): Payload[] {
    return Object.entries(values).map(([name, value]) => {
      const metric = declared.find((m) => m.name === name);
      if (!metric) throw new Error(`metric ${name} is not declared for ${device || 'the node'}`);
      const { datatype: _datatype, ...wire } = valueOf(metric.datatype, value);
      return { alias: this.aliases.get(`${device}/${name}`)!, timestamp: Date.now(), ...wire };
    });
  }
}

function bdSeqMetric(bdSeq: number): Payload {
  return { name: 'bdSeq', datatype: dataTypeNumber('Int64'), longValue: bdSeq };
}

/** A value in the field its data type uses (Sparkplug 3.0 §6.4.16), with the type. */
function valueOf(datatype: DataTypeName, value: number | boolean | string | bigint): Payload {
  const type = { datatype: dataTypeNumber(datatype) };
  switch (datatype) {
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'UInt8':
    case 'UInt16':
    case 'UInt32':
      return { ...type, intValue: Number(value) >>> 0 };
    case 'Int64':
    case 'UInt64':
    case 'DateTime':
      return { ...type, longValue: BigInt(value as number | bigint) };
    case 'Float':
      return { ...type, floatValue: Number(value) };
    case 'Double':
      return { ...type, doubleValue: Number(value) };
    case 'Boolean':
      return { ...type, booleanValue: Boolean(value) };
    default:
      return { ...type, stringValue: String(value) };
  }
}
