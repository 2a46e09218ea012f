import type { Client } from 'aedes';
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';

/**
 * [MQTT-1.5.3-1] A UTF-8 string (topic, client id, user name…) that is not well-formed UTF-8, or
 * [MQTT-1.5.3-2] holds U+0000, is a malformed packet: the connection closes. mqtt-packet would
 * decode it with U+FFFD replacements and the broker would deliver a topic nobody sent. Wraps its
 * string step on this client's parser (node_modules/mqtt-packet/parser.js `_parseString`): an
 * invalid string parses as missing, which mqtt-packet reports as a parse error.
 */
export function refuseInvalidUtf8(client: Client): void {
  const parser = (client as unknown as { _parser: StringParser })._parser;
  // mqtt-packet's `_parseString`, with the check between reading the bytes and decoding them.
  parser._parseString = function checkedParseString(this: StringParser): string | null {
    const length = this._parseNum();
    const end = length + this._pos;
    if (length === -1 || end > this._list.length || end > this.packet.length) return null;
    const bytes = this._list.slice(this._pos, end);
    if (!wellFormed(bytes)) return null;
    this._pos += length;
    return bytes.toString('utf8');
  };
}

/** Well-formed UTF-8 without U+0000; ASCII (topics, client ids nearly always) is checked in line. */
function wellFormed(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0) return false;
    if (byte > 0x7f) return isUtf8(bytes) && !bytes.includes(0, i);
  }
  return true;
}

/** The part of mqtt-packet's parser the string check uses. */
interface StringParser {
  _pos: number;
  packet: { length: number };
  _list: { length: number; slice(start: number, end: number): Buffer };
  _parseNum(this: StringParser): number;
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

const userProperties = 'userProperties';
const acknowledgement = new Set(['reasonString', userProperties]);

/** MQTT 5 Table 2-4: the properties each packet a client sends may carry. */
const allowedProperties: Readonly<Record<string, ReadonlySet<string>>> = {
  connect: new Set([
    'sessionExpiryInterval',
    'receiveMaximum',
    'maximumPacketSize',
    'topicAliasMaximum',
    'requestResponseInformation',
    'requestProblemInformation',
    userProperties,
    'authenticationMethod',
    'authenticationData',
  ]),
  publish: new Set([
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'topicAlias',
    'responseTopic',
    'correlationData',
    userProperties,
    'subscriptionIdentifier',
    'contentType',
  ]),
  puback: acknowledgement,
  pubrec: acknowledgement,
  pubrel: acknowledgement,
  pubcomp: acknowledgement,
  subscribe: new Set(['subscriptionIdentifier', userProperties]),
  unsubscribe: new Set([userProperties]),
  disconnect: new Set(['sessionExpiryInterval', 'reasonString', userProperties, 'serverReference']),
  auth: new Set(['authenticationMethod', 'authenticationData', 'reasonString', userProperties]),
};

/** The will properties of a CONNECT (§3.1.3.2). */
const willProperties: ReadonlySet<string> = new Set([
  'willDelayInterval',
  'payloadFormatIndicator',
  'messageExpiryInterval',
  'contentType',
  'responseTopic',
  'correlationData',
  userProperties,
]);

/**
 * [MQTT-2.2.2-2] A property the packet may not carry (MQTT 5 Table 2-4), e.g. a Session Expiry
 * Interval in a PUBLISH, makes it malformed: DISCONNECT 0x81 and the connection closes.
 * mqtt-packet 9 accepts any known property in any packet; this wraps its property step
 * (node_modules/mqtt-packet/parser.js `_parseProperties`) on this client's parser. A CONNECT's
 * second property block is its will's.
 */
export function refuseForeignProperties(client: Client): void {
  const parser = (client as unknown as { _parser: PropertiesParser })._parser;
  const parseProperties = parser._parseProperties;
  let connectBlocks = new WeakMap<object, number>();
  parser._parseProperties = function checkedParseProperties(this: PropertiesParser): unknown {
    const result = parseProperties.call(this);
    if (this.error || result === null || typeof result !== 'object') return result;
    const cmd = this.packet.cmd;
    let allowed = allowedProperties[cmd];
    if (cmd === 'connect') {
      const block = connectBlocks.get(this.packet) ?? 0;
      connectBlocks.set(this.packet, block + 1);
      if (block > 0) allowed = willProperties;
    }
    const foreign = allowed && Object.keys(result).find((name) => !allowed.has(name));
    if (foreign) {
      connectBlocks = new WeakMap();
      this._emitError(
        Object.assign(new Error(`property ${foreign} is not allowed in ${cmd.toUpperCase()}`), { reasonCode: 0x81 }),
      );
    }
    return result;
  };
}

/** The part of mqtt-packet's parser the property check uses. */
interface PropertiesParser {
  error: Error | null;
  packet: { cmd: string };
  _emitError(error: Error): void;
  _parseProperties(this: PropertiesParser): unknown;
}

/**
 * 3.1.1 [MQTT-3.1.2-2]: a CONNECT with a protocol level the broker does not speak gets CONNACK
 * 0x01 (unacceptable protocol version), then the connection closes. mqtt-packet 9 refuses such a
 * CONNECT as malformed, which would close without CONNACK; this wraps its CONNECT step
 * (node_modules/mqtt-packet/parser.js `_parseConnect`) and answers first. The CONNACK has the
 * 3.1.1 form, which a client of any level can read (MQTT 5 [MQTT-3.1.2-2] allows it or none).
 * Bridge mode (level + 128) keeps working.
 */
export function answerUnknownProtocolLevel(client: Client): void {
  const parser = (client as unknown as { _parser: ConnectParser })._parser;
  const conn = (client as unknown as { conn: Duplex }).conn;
  const parseConnect = parser._parseConnect;
  parser._parseConnect = function checkedParseConnect(this: ConnectParser): unknown {
    const list = this._list;
    if (list.length >= 2) {
      const nameLength = list.readUInt16BE(0);
      if ((nameLength === 4 || nameLength === 6) && list.length > 2 + nameLength) {
        const name = list.slice(2, 2 + nameLength).toString('latin1');
        const level = list.readUInt8(2 + nameLength) & 0x7f;
        if ((name === 'MQTT' || name === 'MQIsdp') && (level < 3 || level > 5)) {
          // Stops the parser without an 'error' event (which would close before the CONNACK is out).
          this.error = new Error(`unsupported protocol level ${level}`);
          conn.end(Buffer.from([0x20, 0x02, 0x00, 0x01]), () => conn.destroy());
          return undefined;
        }
      }
    }
    return parseConnect.call(this);
  };
}

/** The part of mqtt-packet's parser the protocol level check uses. */
interface ConnectParser {
  error: Error | null;
  _list: {
    length: number;
    readUInt16BE(offset: number): number;
    readUInt8(offset: number): number;
    slice(start: number, end: number): Buffer;
  };
  _parseConnect(this: ConnectParser): unknown;
}

/**
 * Closes the connection as soon as a packet header announces more than `maxBytes` (3.1.1 has no
 * reason code for it), before its body is buffered. Wraps mqtt-packet's length step on this
 * client's parser (node_modules/mqtt-packet/parser.js `_parseLength`), the one hook it offers.
 */
export function limitPacketSize(client: Client, maxBytes: number): void {
  const parser = (client as unknown as { _parser: ParserInternals })._parser;
  const parseLength = parser._parseLength;
  parser._parseLength = function limitedParseLength(this: ParserInternals): boolean {
    const complete = parseLength.call(this);
    if (complete && this.packet.length > maxBytes) {
      // MQTT 5 clients get DISCONNECT 0x95 (packet too large) first [MQTT-3.2.2-15].
      const error = new Error(`packet of ${this.packet.length} bytes exceeds maxPacketBytes ${maxBytes}`);
      this._emitError(Object.assign(error, { reasonCode: 0x95 }));
      return false;
    }
    return complete;
  };
}

interface ParserInternals {
  packet: { length: number };
  _parseLength(this: ParserInternals): boolean;
  _emitError(error: Error): void;
}
