/**
 * Sparkplug B payloads: the specification's protobuf schema (Eclipse Tahu `sparkplug_b.proto`,
 * Sparkplug 3.0 §6.4, proto2, package org.eclipse.tahu.protobuf) as a protobufjs JSON
 * descriptor, and the codec built from it. Inlined rather than loaded from a .proto file so it
 * works the same under plain Node, in the packaged app and in tests, with no file to ship.
 *
 * Why protobufjs and not the `sparkplug-payload` package: the latter pins protobufjs 6 and long 4
 * (an old line, more to audit) for what is this one schema; protobufjs 8 is maintained, works in
 * Node and the browser, and is used here with the schema as data (no code generation).
 */
import protobuf from 'protobufjs/light.js';

/** Sparkplug data types (Sparkplug 3.0 §6.4.16), by wire number. */
export const dataTypeNames = [
  'Unknown',
  'Int8',
  'Int16',
  'Int32',
  'Int64',
  'UInt8',
  'UInt16',
  'UInt32',
  'UInt64',
  'Float',
  'Double',
  'Boolean',
  'String',
  'DateTime',
  'Text',
  'UUID',
  'DataSet',
  'Bytes',
  'File',
  'Template',
  'PropertySet',
  'PropertySetList',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Int64Array',
  'UInt8Array',
  'UInt16Array',
  'UInt32Array',
  'UInt64Array',
  'FloatArray',
  'DoubleArray',
  'BooleanArray',
  'StringArray',
  'DateTimeArray',
] as const;

/** A Sparkplug data type's name. */
export type DataTypeName = (typeof dataTypeNames)[number];

/** The wire number of a data type. */
export function dataTypeNumber(name: DataTypeName): number {
  return dataTypeNames.indexOf(name);
}

const valueOneof = (fields: Record<string, { type: string; id: number }>) => ({
  oneofs: { value: { oneof: Object.keys(fields) } },
  fields,
});

// proto2: repeated scalars are not packed (what Tahu and every Sparkplug client send).
const unpacked = { packed: false };

/** sparkplug_b.proto as a protobufjs descriptor (extension ranges left out: unknown fields are skipped). */
const descriptor = {
  nested: {
    Payload: {
      edition: 'proto2',
      fields: {
        timestamp: { type: 'uint64', id: 1 },
        metrics: { rule: 'repeated', type: 'Metric', id: 2 },
        seq: { type: 'uint64', id: 3 },
        uuid: { type: 'string', id: 4 },
        body: { type: 'bytes', id: 5 },
      },
      nested: {
        Template: {
          fields: {
            version: { type: 'string', id: 1 },
            metrics: { rule: 'repeated', type: 'Metric', id: 2 },
            parameters: { rule: 'repeated', type: 'Parameter', id: 3 },
            templateRef: { type: 'string', id: 4 },
            isDefinition: { type: 'bool', id: 5 },
          },
          nested: {
            Parameter: {
              ...valueOneof({
                intValue: { type: 'uint32', id: 3 },
                longValue: { type: 'uint64', id: 4 },
                floatValue: { type: 'float', id: 5 },
                doubleValue: { type: 'double', id: 6 },
                booleanValue: { type: 'bool', id: 7 },
                stringValue: { type: 'string', id: 8 },
              }),
              fields: {
                name: { type: 'string', id: 1 },
                type: { type: 'uint32', id: 2 },
                intValue: { type: 'uint32', id: 3 },
                longValue: { type: 'uint64', id: 4 },
                floatValue: { type: 'float', id: 5 },
                doubleValue: { type: 'double', id: 6 },
                booleanValue: { type: 'bool', id: 7 },
                stringValue: { type: 'string', id: 8 },
              },
            },
          },
        },
        DataSet: {
          fields: {
            numOfColumns: { type: 'uint64', id: 1 },
            columns: { rule: 'repeated', type: 'string', id: 2 },
            types: { rule: 'repeated', type: 'uint32', id: 3, options: unpacked },
            rows: { rule: 'repeated', type: 'Row', id: 4 },
          },
          nested: {
            DataSetValue: valueOneof({
              intValue: { type: 'uint32', id: 1 },
              longValue: { type: 'uint64', id: 2 },
              floatValue: { type: 'float', id: 3 },
              doubleValue: { type: 'double', id: 4 },
              booleanValue: { type: 'bool', id: 5 },
              stringValue: { type: 'string', id: 6 },
            }),
            Row: { fields: { elements: { rule: 'repeated', type: 'DataSetValue', id: 1 } } },
          },
        },
        PropertyValue: {
          oneofs: {
            value: {
              oneof: [
                'intValue',
                'longValue',
                'floatValue',
                'doubleValue',
                'booleanValue',
                'stringValue',
                'propertysetValue',
                'propertysetsValue',
              ],
            },
          },
          fields: {
            type: { type: 'uint32', id: 1 },
            isNull: { type: 'bool', id: 2 },
            intValue: { type: 'uint32', id: 3 },
            longValue: { type: 'uint64', id: 4 },
            floatValue: { type: 'float', id: 5 },
            doubleValue: { type: 'double', id: 6 },
            booleanValue: { type: 'bool', id: 7 },
            stringValue: { type: 'string', id: 8 },
            propertysetValue: { type: 'PropertySet', id: 9 },
            propertysetsValue: { type: 'PropertySetList', id: 10 },
          },
        },
        PropertySet: {
          fields: {
            keys: { rule: 'repeated', type: 'string', id: 1 },
            values: { rule: 'repeated', type: 'PropertyValue', id: 2 },
          },
        },
        PropertySetList: { fields: { propertyset: { rule: 'repeated', type: 'PropertySet', id: 1 } } },
        MetaData: {
          fields: {
            isMultiPart: { type: 'bool', id: 1 },
            contentType: { type: 'string', id: 2 },
            size: { type: 'uint64', id: 3 },
            seq: { type: 'uint64', id: 4 },
            fileName: { type: 'string', id: 5 },
            fileType: { type: 'string', id: 6 },
            md5: { type: 'string', id: 7 },
            description: { type: 'string', id: 8 },
          },
        },
        Metric: {
          oneofs: {
            value: {
              oneof: [
                'intValue',
                'longValue',
                'floatValue',
                'doubleValue',
                'booleanValue',
                'stringValue',
                'bytesValue',
                'datasetValue',
                'templateValue',
              ],
            },
          },
          fields: {
            name: { type: 'string', id: 1 },
            alias: { type: 'uint64', id: 2 },
            timestamp: { type: 'uint64', id: 3 },
            datatype: { type: 'uint32', id: 4 },
            isHistorical: { type: 'bool', id: 5 },
            isTransient: { type: 'bool', id: 6 },
            isNull: { type: 'bool', id: 7 },
            metadata: { type: 'MetaData', id: 8 },
            properties: { type: 'PropertySet', id: 9 },
            intValue: { type: 'uint32', id: 10 },
            longValue: { type: 'uint64', id: 11 },
            floatValue: { type: 'float', id: 12 },
            doubleValue: { type: 'double', id: 13 },
            booleanValue: { type: 'bool', id: 14 },
            stringValue: { type: 'string', id: 15 },
            bytesValue: { type: 'bytes', id: 16 },
            datasetValue: { type: 'DataSet', id: 17 },
            templateValue: { type: 'Template', id: 18 },
          },
        },
      },
    },
  },
};

const payloadType = protobuf.Root.fromJSON(descriptor).lookupType('Payload');

/** A value as a metric carries it on the wire (exactly one, or none when null). */
export type WireValue =
  | { intValue: number }
  | { longValue: bigint | number }
  | { floatValue: number }
  | { doubleValue: number }
  | { booleanValue: boolean }
  | { stringValue: string }
  | { bytesValue: Uint8Array }
  | { datasetValue: DecodedDataSet }
  | { templateValue: DecodedTemplate }
  | Record<string, never>;

/** A data set, as decoded (only what is shown is typed). */
export interface DecodedDataSet {
  readonly columns?: string[];
  readonly rows?: unknown[];
}

/** A template instance or definition, as decoded (only what is shown is typed). */
export interface DecodedTemplate {
  readonly templateRef?: string;
  readonly isDefinition?: boolean;
  readonly metrics?: unknown[];
}

/** One metric of a payload. 64-bit fields are bigints. */
export type SparkplugMetric = {
  name?: string;
  alias?: bigint;
  timestamp?: bigint;
  datatype?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
} & WireValue;

/** A decoded Sparkplug B payload. 64-bit fields are bigints. */
export interface SparkplugPayload {
  timestamp?: bigint;
  metrics: SparkplugMetric[];
  seq?: bigint;
  uuid?: string;
  body?: Uint8Array;
}

/** One metric to encode: give at most one of the value fields (the schema's `value` oneof). */
export interface SparkplugMetricInput {
  name?: string;
  alias?: number | bigint;
  timestamp?: number | bigint;
  datatype?: number;
  isNull?: boolean;
  intValue?: number;
  longValue?: number | bigint;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  bytesValue?: Uint8Array;
}

/** What a caller builds to encode (numbers accepted where the wire has uint64). */
export interface SparkplugPayloadInput {
  timestamp?: number | bigint;
  seq?: number | bigint;
  uuid?: string;
  metrics?: readonly SparkplugMetricInput[];
}

/** Decodes a Sparkplug B payload; throws (a protobufjs error) on malformed bytes. */
export function decodePayload(bytes: Uint8Array): SparkplugPayload {
  const message = payloadType.decode(bytes);
  return payloadType.toObject(message, { longs: BigInt, arrays: true }) as SparkplugPayload;
}

/** Encodes a Sparkplug B payload. */
export function encodePayload(payload: SparkplugPayloadInput): Uint8Array {
  // uint64 fields go in as decimal text: protobufjs turns that into an exact Long.
  const toLong = (value: number | bigint | undefined) =>
    value === undefined ? undefined : BigInt.asUintN(64, BigInt(value)).toString();
  const plain = {
    ...(payload.timestamp !== undefined && { timestamp: toLong(payload.timestamp) }),
    ...(payload.seq !== undefined && { seq: toLong(payload.seq) }),
    ...(payload.uuid !== undefined && { uuid: payload.uuid }),
    metrics: (payload.metrics ?? []).map((metric) => {
      const { alias, timestamp, longValue, ...rest } = metric;
      return {
        ...rest,
        ...(alias !== undefined && { alias: toLong(alias) }),
        ...(timestamp !== undefined && { timestamp: toLong(timestamp) }),
        ...(longValue !== undefined && { longValue: toLong(longValue) }),
      };
    }),
  };
  return payloadType.encode(payloadType.fromObject(plain)).finish();
}
