/**
 * Engine objects → plain JSON for the API (contract.ts's wire conventions): ids as strings,
 * payloads as utf8 text when valid, else base64.
 */
import { isUtf8 } from 'node:buffer';
import type { DeadMessage } from '../engine/dmq.ts';
import type { QueueInfo } from '../engine/engine.ts';
import type { Message } from '../engine/message.ts';
import type { MessageEvent, Rates, WireDeadMessage, WireMessage, WireQueueInfo } from './contract.ts';

/** Encodes payload bytes: text when they are valid UTF-8, so JSON stays readable. */
export function encodePayload(payload: Buffer): { payload: string; payloadEncoding: 'utf8' | 'base64' } {
  return isUtf8(payload)
    ? { payload: payload.toString('utf8'), payloadEncoding: 'utf8' }
    : { payload: payload.toString('base64'), payloadEncoding: 'base64' };
}

/** Decodes a payload string given its encoding (the contract has checked base64's alphabet and length). */
export function decodePayload(payload: string, encoding: 'utf8' | 'base64'): Buffer {
  return Buffer.from(payload, encoding);
}

/** A message as the API shows it. */
export function toWireMessage(message: Message): WireMessage {
  const { payload, ...rest } = message;
  return { ...rest, headers: { ...message.headers }, ...encodePayload(payload) };
}

/** A queue as the API shows it. */
export function toWireQueue(info: QueueInfo, rates: Rates): WireQueueInfo {
  return {
    ...info,
    config: { ...info.config, subscriptions: [...info.config.subscriptions] },
    counters: { ...info.counters },
    rates,
  };
}

/** A dead message as the API shows it. */
export function toWireDeadMessage(dead: DeadMessage): WireDeadMessage {
  return { ...dead, message: toWireMessage(dead.message) };
}

/** The first `maxBytes` of a payload, as text when valid UTF-8 (a character cut at the edge is left out), else base64. */
export function previewPayload(
  payload: Buffer,
  maxBytes: number,
): { payload: string; payloadEncoding: 'utf8' | 'base64'; truncated: boolean } {
  const truncated = payload.length > maxBytes;
  const head = truncated ? payload.subarray(0, maxBytes) : payload;
  // A UTF-8 character is at most 4 bytes: backing off up to 3 finds the last whole one.
  for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= head.length; cut++) {
    const text = head.subarray(0, head.length - cut);
    if (isUtf8(text)) return { payload: text.toString('utf8'), payloadEncoding: 'utf8', truncated };
  }
  return { payload: head.toString('base64'), payloadEncoding: 'base64', truncated };
}

/** A live message event: the message's facts and a payload preview of at most `previewBytes`. */
export function toMessageEvent(message: Message, previewBytes: number): MessageEvent {
  return {
    type: 'message',
    id: message.id,
    topic: message.topic,
    timestamp: message.timestamp,
    size: message.payload.length,
    headers: { ...message.headers },
    ...(message.contentType !== undefined && { contentType: message.contentType }),
    ...(message.protocol !== undefined && { protocol: message.protocol }),
    ...(message.publisher !== undefined && { publisher: message.publisher }),
    ...previewPayload(message.payload, previewBytes),
  };
}
