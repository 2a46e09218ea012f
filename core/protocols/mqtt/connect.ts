// MQTT 5 CONNECT handling (what the client asked for, the CONNACK properties, the will delay it
// sets up) and what the aedes patch adds to a client (patches/aedes+1.2.0.patch).
import type { AuthenticateError, Client } from 'aedes';
import type { MqttConfig } from './config.ts';
import type { AedesPacket } from './persistence.ts';
import { willDelaySec, type WillDelay } from './will-delay.ts';

/** What an MQTT 5 CONNECT asked for (§3.1.2.11), kept from preConnect to authenticate. */
export interface V5Connect {
  /** Clean Start [MQTT-3.1.2-4]. */
  readonly cleanStart: boolean;
  readonly sessionExpirySec: number;
  readonly receiveMaximum: number;
  readonly maximumPacketSize: number;
  readonly topicAliasMaximum: number;
  readonly authenticationMethod?: string;
}

/** mqtt-packet's CONNECT properties (the ones Sluice reads). */
interface ConnectProperties {
  sessionExpiryInterval?: number;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  topicAliasMaximum?: number;
  authenticationMethod?: string;
  requestProblemInformation?: boolean;
}

/** An MQTT 5 CONNECT as mqtt-packet parses it. */
export interface V5ConnectPacket {
  clean: boolean;
  keepalive: number;
  properties?: ConnectProperties;
}

/**
 * MQTT 5 CONNECT: Sluice's session model from Clean Start and session expiry, the CONNACK
 * properties, and the server keep-alive. aedes' `clean` becomes "the session is not kept":
 * a session with an expiry interval (or resumed with Clean Start 0) is a persistent session.
 */
export function prepareV5(client: Client, packet: V5ConnectPacket, config: MqttConfig): V5Connect {
  const properties = packet.properties ?? {};
  const cleanStart = packet.clean;
  const sessionExpirySec = properties.sessionExpiryInterval ?? 0;
  const v5: V5Connect = {
    cleanStart,
    sessionExpirySec,
    receiveMaximum: properties.receiveMaximum ?? 65_535,
    maximumPacketSize: properties.maximumPacketSize ?? 268_435_460,
    topicAliasMaximum: properties.topicAliasMaximum ?? 0,
    ...(properties.authenticationMethod !== undefined && { authenticationMethod: properties.authenticationMethod }),
  };
  packet.clean = cleanStart && sessionExpirySec === 0;
  const connack: Record<string, unknown> = {
    // §3.2.2.3: what the server accepts, so that clients stay within it.
    receiveMaximum: config.maxInFlightPerClient,
    maximumPacketSize: config.maxPacketBytes,
    topicAliasMaximum: config.topicAliasMaximum,
    retainAvailable: true,
    wildcardSubscriptionAvailable: true,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
  };
  if (config.maxKeepAliveSec > 0 && (packet.keepalive === 0 || packet.keepalive > config.maxKeepAliveSec)) {
    // [MQTT-3.2.2-21] the client must use the server keep alive instead of its own.
    packet.keepalive = config.maxKeepAliveSec;
    connack.serverKeepAlive = config.maxKeepAliveSec;
  }
  const patched = client as unknown as PatchedClient;
  patched.connackProperties = connack;
  patched.topicAliasMaximum = config.topicAliasMaximum;
  // The aedes patch leaves out reason strings that would exceed it [MQTT-3.2.2-19] [MQTT-3.4.2-2].
  if (properties.maximumPacketSize !== undefined) patched.maximumPacketSize = properties.maximumPacketSize;
  // Request Problem Information 0: no reason strings but on PUBLISH, CONNACK, DISCONNECT [MQTT-3.1.2-29].
  if (properties.requestProblemInformation === false) patched.problemInformation = false;
  return v5;
}

/**
 * MQTT 5 will delay [MQTT-3.1.2-8]: the will of a connection that ended waits for the smaller of its
 * will delay and its session expiry interval ('held'), unless it is due now; a connection that
 * already took the session over and resumes it means it is not sent at all ('dropped').
 */
export function holdWill(
  client: Client,
  will: AedesPacket,
  v5Connects: WeakMap<Client, V5Connect>,
  clientsById: ReadonlyMap<string, Client>,
  willDelay: WillDelay,
): 'now' | 'held' | 'dropped' {
  const delaySec = willDelaySec(will);
  const v5 = v5Connects.get(client);
  if (delaySec === 0 || !v5) return 'now';
  const successor = clientsById.get(client.id);
  if (successor && successor !== client) {
    const next = v5Connects.get(successor);
    // [MQTT-3.1.3-9] a new connection to this session: no will. A clean one ended the session.
    return (next ? !next.cleanStart : !successor.clean) ? 'dropped' : 'now';
  }
  const asked = (client as unknown as PatchedClient).disconnectPacket?.properties?.sessionExpiryInterval;
  const sessionSec = client.clean ? 0 : asked !== undefined && v5.sessionExpirySec > 0 ? asked : v5.sessionExpirySec;
  return willDelay.defer(client.id, will, Math.min(delaySec, sessionSec), client) ? 'held' : 'now';
}

/**
 * A CONNACK refusal aedes understands (3.1.1 return codes 2–5, plus 3 for limits) with the MQTT 5
 * reason code the aedes patch sends to MQTT 5 clients.
 */
export function refusal(returnCode: number, message: string, reasonCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode, reasonCode }) as AuthenticateError;
}

/** What the aedes patch adds to its Client (patches/aedes+1.2.0.patch). */
export interface PatchedClient {
  /** 5 for MQTT 5 clients. */
  version: number | null;
  /** Properties of a successful CONNACK. */
  connackProperties?: Record<string, unknown>;
  /** Topic aliases the client may set. */
  topicAliasMaximum?: number;
  /** MQTT 5: the largest packet the client accepts (CONNECT Maximum Packet Size). */
  maximumPacketSize?: number;
  /** MQTT 5: false when the CONNECT's Request Problem Information is 0. */
  problemInformation?: boolean;
  /** The client's DISCONNECT, when it sent one. */
  disconnectPacket?: { reasonCode?: number; properties?: { sessionExpiryInterval?: number } };
  sendDisconnect(reasonCode: number, reasonString?: string): boolean;
}

export function isV5(client: Client): boolean {
  return (client as unknown as PatchedClient).version === 5;
}

/** Writes an MQTT 5 DISCONNECT with a reason code before the broker closes (nothing for 3.1.1). */
export function sendDisconnect(client: Client, reasonCode: number, reasonString: string): void {
  (client as unknown as PatchedClient).sendDisconnect(reasonCode, reasonString);
}

export function remoteOf(client: Client): string | undefined {
  const conn = (client as unknown as { conn?: { remoteAddress?: string } }).conn;
  return conn?.remoteAddress;
}
