/**
 * How a payload is shown: JSON pretty-printed, other text as is, binary as a hex dump
 * (offset · 16 bytes · printable ASCII), the way an engineer reads a PLC frame.
 */
import type { WireMessage } from '../../../core/api/contract.ts';

/** A payload ready to display. */
export interface ShownPayload {
  readonly kind: 'json' | 'text' | 'binary' | 'empty';
  readonly text: string;
  /** Size in bytes. */
  readonly bytes: number;
}

/** Longest payload rendered in full; the rest is cut with a note (a 16 MiB payload would freeze the view). */
export const maxShownBytes = 64 * 1024;

/** Formats a wire payload for display. */
export function showPayload(payload: string, encoding: WireMessage['payloadEncoding']): ShownPayload {
  if (encoding === 'base64') {
    const data = base64ToBytes(payload);
    return {
      kind: 'binary',
      text: hexDump(data.subarray(0, maxShownBytes)) + cutNote(data.length),
      bytes: data.length,
    };
  }
  const size = new TextEncoder().encode(payload).length;
  if (payload.length === 0) return { kind: 'empty', text: '(empty)', bytes: 0 };
  const trimmed = payload.trimStart();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && size <= maxShownBytes) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(payload), null, 2), bytes: size };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { kind: 'text', text: payload.slice(0, maxShownBytes) + cutNote(size), bytes: size };
}

/** One line for a list cell: compact JSON or text, hex for binary. */
export function previewPayload(payload: string, encoding: WireMessage['payloadEncoding'], width = 120): string {
  const text =
    encoding === 'base64'
      ? Array.from(base64ToBytes(payload).subarray(0, Math.ceil(width / 3)), (b) => hex2(b)).join(' ')
      : payload.replace(/\s+/g, ' ');
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** Classic hex dump: `00000000  48 65 6c 6c 6f …  |Hello…|`. */
export function hexDump(data: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < data.length; offset += 16) {
    const row = data.subarray(offset, offset + 16);
    const hex = Array.from(row, hex2);
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** Decodes base64 without Node's Buffer (browser-safe). */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Encodes bytes as base64 without Node's Buffer. */
export function bytesToBase64(data: Uint8Array): string {
  let binary = '';
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Parses "48 65 6c" / "48656c" / "0x48,0x65" into bytes; undefined when it is not hex. */
export function parseHex(text: string): Uint8Array | undefined {
  const digits = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(digits)) return undefined;
  const data = new Uint8Array(digits.length / 2);
  for (let i = 0; i < data.length; i++) data[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return data;
}

const hex2 = (b: number) => b.toString(16).padStart(2, '0');

function cutNote(total: number): string {
  return total > maxShownBytes ? `\n… ${total - maxShownBytes} more bytes not shown` : '';
}
