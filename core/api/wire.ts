/**
 * Engine objects → plain JSON for the API (contract.ts's wire conventions): ids as strings,
 * payloads as utf8 text when valid, else base64.
 */
import { isUtf8 } from 'node:buffer';
import type { DeadMessage } from '../engine/dmq.ts';
import type { QueueInfo } from '../engine/engine.ts';
import type { Message } from '../engine/message.ts';
import type { Rates, WireDeadMessage, WireMessage, WireQueueInfo } from './contract.ts';

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
