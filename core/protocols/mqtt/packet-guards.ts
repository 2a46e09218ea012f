import type { Client } from 'aedes';
import { isUtf8 } from 'node:buffer';

/**
 * [MQTT-1.5.3-1] A UTF-8 string (topic, client id, user name…) that is not well-formed UTF-8, or
 * [MQTT-1.5.3-2] holds U+0000, is a malformed packet: the connection closes. mqtt-packet would
 * decode it with U+FFFD replacements and the broker would deliver a topic nobody sent. Wraps its
 * string step on this client's parser (node_modules/mqtt-packet/parser.js `_parseString`): an
 * invalid string parses as missing, which mqtt-packet reports as a parse error.
 */
export function refuseInvalidUtf8(client: Client): void {
  const parser = (client as unknown as { _parser: StringParser })._parser;
  const parseString = parser._parseString;
  parser._parseString = function checkedParseString(this: StringParser): string | null {
    const start = this._pos;
    if (start + 2 <= this._list.length) {
      const end = start + 2 + this._list.readUInt16BE(start);
      if (end <= this._list.length) {
        const bytes = this._list.slice(start + 2, end);
        if (!isUtf8(bytes) || bytes.includes(0)) return null;
      }
    }
    return parseString.call(this);
  };
}

/** The part of mqtt-packet's parser the string check uses. */
interface StringParser {
  _pos: number;
  _list: { length: number; readUInt16BE(offset: number): number; slice(start: number, end: number): Buffer };
  _parseString(this: StringParser): string | null;
}

/**
 * [MQTT-3.8.3-3] (3.1.1) / [MQTT-3.8.3-2] (5): a SUBSCRIBE needs at least one topic filter, and
 * [MQTT-3.10.3-2] an UNSUBSCRIBE too; an empty one is a protocol violation that closes the
 * connection (MQTT 5: DISCONNECT 0x82 protocol error first). mqtt-packet 9 parses an empty one
 * without complaint (its `packet.length <= 0` check never fires); this wraps its two parse steps
 * (node_modules/mqtt-packet/parser.js `_parseSubscribe`, `_parseUnsubscribe`) on this client's parser.
 */
export function refuseEmptySubscribe(client: Client): void {
  const parser = (client as unknown as { _parser: SubscribeParser })._parser;
  const parseSubscribe = parser._parseSubscribe;
  const parseUnsubscribe = parser._parseUnsubscribe;
  const refuseEmpty = (self: SubscribeParser, list: readonly unknown[] | undefined, what: string): void => {
    if (self.error || (list !== undefined && list.length > 0)) return;
    self._emitError(Object.assign(new Error(`${what} without a topic filter`), { reasonCode: 0x82 }));
  };
  parser._parseSubscribe = function checkedParseSubscribe(this: SubscribeParser): void {
    parseSubscribe.call(this);
    refuseEmpty(this, this.packet.subscriptions, 'SUBSCRIBE');
  };
  parser._parseUnsubscribe = function checkedParseUnsubscribe(this: SubscribeParser): void {
    parseUnsubscribe.call(this);
    refuseEmpty(this, this.packet.unsubscriptions, 'UNSUBSCRIBE');
  };
}

/** The part of mqtt-packet's parser the SUBSCRIBE check uses. */
interface SubscribeParser {
  error: Error | null;
  packet: { subscriptions?: unknown[]; unsubscriptions?: unknown[] };
  _emitError(error: Error): void;
  _parseSubscribe(this: SubscribeParser): void;
  _parseUnsubscribe(this: SubscribeParser): void;
}
