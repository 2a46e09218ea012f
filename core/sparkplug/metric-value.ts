/**
 * A metric's value as the state keeps and shows it: typed by its Sparkplug data type (Sparkplug
 * 3.0 §6.4.16), bounded in size so a large string or blob is not held.
 */
import { dataTypeNames, type SparkplugMetric } from './payload.ts';

/** A shown value: what the contract's metric `value` field carries. */
export type ShownValue = string | number | boolean | null;

/** Longest text kept for a string value (characters); longer ones end in `…`. */
export const maxTextChars = 1024;
/** Bytes of a Bytes/File value kept (shown as base64). */
export const maxBytesShown = 256;
/** Elements of an array value shown. */
const maxArrayElements = 64;

/** A data type's name from its wire number (`Unknown(n)` past the known ones). */
export function dataTypeName(datatype: number | undefined): string {
  if (datatype === undefined) return 'Unknown';
  return dataTypeNames[datatype] ?? `Unknown(${datatype})`;
}

const clip = (text: string) => (text.length > maxTextChars ? `${text.slice(0, maxTextChars - 1)}…` : text);

/** A 64-bit integer as a number when exact, else as decimal text. */
const wide = (value: bigint): number | string => {
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value.toString();
};

/**
 * The value of `metric` for its data type. Signed types travel as two's complement in the
 * unsigned fields (int_value is uint32, long_value uint64; Sparkplug 3.0 §6.4.16), so they are
 * converted back here.
 */
export function metricValue(metric: SparkplugMetric, datatype: string): ShownValue {
  if (metric.isNull === true) return null;
  const m = metric as Record<string, unknown>;
  if (m.intValue !== undefined) {
    const raw = m.intValue as number;
    if (datatype === 'Int8') return (raw << 24) >> 24;
    if (datatype === 'Int16') return (raw << 16) >> 16;
    if (datatype === 'Int32') return raw | 0;
    return raw >>> 0;
  }
  if (m.longValue !== undefined) {
    const raw = BigInt(m.longValue as bigint | number);
    if (datatype === 'Int64') return wide(BigInt.asIntN(64, raw));
    if (datatype === 'DateTime') return Number(raw);
    return wide(BigInt.asUintN(64, raw));
  }
  if (m.floatValue !== undefined) return m.floatValue as number;
  if (m.doubleValue !== undefined) return m.doubleValue as number;
  if (m.booleanValue !== undefined) return m.booleanValue as boolean;
  if (m.stringValue !== undefined) return clip(m.stringValue as string);
  if (m.bytesValue !== undefined) return bytesValue(m.bytesValue as Uint8Array, datatype);
  if (m.datasetValue !== undefined) {
    const set = m.datasetValue as { columns?: string[]; rows?: unknown[] };
    return clip(`DataSet ${set.rows?.length ?? 0} row(s) × [${(set.columns ?? []).join(', ')}]`);
  }
  if (m.templateValue !== undefined) {
    const template = m.templateValue as { templateRef?: string; isDefinition?: boolean; metrics?: unknown[] };
    const what = template.isDefinition === true ? 'Template definition' : `Template ${template.templateRef ?? ''}`;
    return clip(`${what.trim()} (${template.metrics?.length ?? 0} metric(s))`);
  }
  return null;
}

/** Sparkplug 3.0 arrays travel as little-endian packed bytes in bytes_value. */
function bytesValue(bytes: Uint8Array, datatype: string): ShownValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const numeric: Record<string, [number, (offset: number) => number | bigint]> = {
    Int8Array: [1, (o) => view.getInt8(o)],
    UInt8Array: [1, (o) => view.getUint8(o)],
    Int16Array: [2, (o) => view.getInt16(o, true)],
    UInt16Array: [2, (o) => view.getUint16(o, true)],
    Int32Array: [4, (o) => view.getInt32(o, true)],
    UInt32Array: [4, (o) => view.getUint32(o, true)],
    Int64Array: [8, (o) => view.getBigInt64(o, true)],
    UInt64Array: [8, (o) => view.getBigUint64(o, true)],
    FloatArray: [4, (o) => view.getFloat32(o, true)],
    DoubleArray: [8, (o) => view.getFloat64(o, true)],
    DateTimeArray: [8, (o) => view.getBigInt64(o, true)],
  };
  const reader = numeric[datatype];
  if (reader) {
    const [size, read] = reader;
    const total = Math.floor(bytes.length / size);
    const shown: string[] = [];
    for (let i = 0; i < Math.min(total, maxArrayElements); i++) shown.push(String(read(i * size)));
    return clip(`[${shown.join(', ')}${total > maxArrayElements ? ', …' : ''}]`);
  }
  if (datatype === 'StringArray') {
    const strings = new TextDecoder().decode(bytes).split('\0');
    if (strings.at(-1) === '') strings.pop();
    return clip(JSON.stringify(strings.slice(0, maxArrayElements)));
  }
  if (datatype === 'BooleanArray' && bytes.length >= 4) {
    const total = view.getUint32(0, true);
    const shown: boolean[] = [];
    for (let i = 0; i < Math.min(total, maxArrayElements, (bytes.length - 4) * 8); i++)
      shown.push((bytes[4 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0);
    return clip(JSON.stringify(shown));
  }
  // Bytes, File, UUID-as-bytes…: base64 of the first bytes.
  return Buffer.from(bytes.subarray(0, maxBytesShown)).toString('base64');
}
