import { readFileSync } from 'node:fs';
import type { BridgeConfig } from '../schema/bridge-config.ts';

/** A message on its way to the upstream, topic already mapped. */
export interface OutboundMessage {
  readonly topic: string;
  /** The message's topic in Sluice, before the out.topics rule mapped it. */
  readonly localTopic: string;
  readonly payload: Buffer;
  /** Message headers plus the bridge's own (origin, hops, message id). */
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly correlationId?: string;
  readonly replyTo?: string;
  readonly priority: number;
  /** Absolute expiry (ms since epoch) or null. */
  readonly expiresAt: number | null;
}

/** A message received from the upstream, topic as the upstream named it. */
export interface InboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly correlationId?: string;
  readonly replyTo?: string;
  readonly priority?: number;
  readonly expiresAt?: number;
}

/** Why something failed on the upstream side. */
export type UpstreamFailureKind =
  /** The connection could not be made or was lost. */
  | 'network'
  /** The upstream refused the credentials or the authorization. */
  | 'auth'
  /** The upstream answered something the bridge cannot go on with (retry after backoff). */
  | 'protocol'
  /** This one message was refused for good (by the upstream outbound, by Sluice inbound); the others go on. */
  | 'refused-message'
  /** Sluice could not take an inbound message now (queue or disk full, closing): the upstream keeps it. */
  | 'local';

/** An upstream failure with its kind; the bridge decides from the kind, never from the text. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** Wraps anything thrown by a client library. */
export function toUpstreamError(error: unknown, kind: UpstreamFailureKind = 'network'): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const text = error instanceof Error ? error.message || error.name : String(error);
  return new UpstreamError(kind, text || 'unknown error');
}

/** What the bridge gives a connection. */
export interface UpstreamHandlers {
  /**
   * An inbound message. Resolves once it is durable in Sluice; only then does the adapter
   * acknowledge it upstream. Rejecting with kind `refused-message` refuses this one message
   * upstream; any other rejection drops the connection unacknowledged, so the upstream keeps it.
   */
  onMessage(message: InboundMessage): Promise<void>;
  /** The connection ended (called at most once per session, not after `close`). */
  onClosed(error: UpstreamError): void;
}

/** One live connection to the upstream. */
export interface UpstreamSession {
  /** Unacknowledged outbound messages the upstream allows (MQTT 5 receive maximum), or Infinity. */
  readonly window: number;
  /**
   * Sends one message; messages go on the wire in call order. Resolves when the upstream
   * acknowledged it (PUBACK / PUBCOMP / AMQP accepted); rejects with an UpstreamError.
   */
  send(message: OutboundMessage): Promise<void>;
  /** Closes the connection; pending sends reject. */
  close(): Promise<void>;
}

/** A connection factory for one bridge's upstream. */
export interface Upstream {
  /** The address for status and logs, without credentials. */
  readonly address: string;
  connect(handlers: UpstreamHandlers): Promise<UpstreamSession>;
}

/** What the bridge passes to an adapter factory. */
export interface UpstreamContext {
  readonly config: BridgeConfig;
  /** This broker's id (client id default, AMQP container id). */
  readonly brokerId: string;
}

/** PEM text as given, or the contents of the file it names. */
export function pem(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

/** Calls `fn` once; later calls are ignored. */
export function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let called = false;
  return (...args: A) => {
    if (called) return;
    called = true;
    fn(...args);
  };
}
