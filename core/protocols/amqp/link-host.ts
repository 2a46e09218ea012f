/**
 * What an AMQP connection shares with its links, in a file of its own so that the links
 * (publisher.ts, consumer.ts) and the connection (connection.ts) depend on it and not on each other.
 */
import type { Logger } from 'pino';
import type { Engine } from '../../engine/engine.ts';
import type { Principal, SecurityPolicy } from '../../security/authorize.ts';
import type { AmqpConfig } from './config.ts';
import type { AnyLink } from './rhea-internals.ts';

/** Counters across connections. */
export interface AmqpCounters {
  /** Connections open now (after OPEN). */
  connections: number;
  /** Connections closed for the connection limit. */
  refused: number;
  /** Live messages dropped for receivers without credit. */
  liveDropped: number;
}

/** What every connection shares. */
export interface AmqpShared {
  readonly engine: Engine;
  readonly config: AmqpConfig;
  readonly logger: Logger;
  readonly security: SecurityPolicy;
  readonly counters: AmqpCounters;
}

/** What a link needs from its connection. */
export interface LinkHost extends AmqpShared {
  readonly principal: Principal;
  /** The peer's container id (OPEN container-id): names durable subscriptions. */
  readonly containerId: string;
  /** Kept as the message's publisher. */
  readonly publisherName: string;
  /** The queue must exist (or is auto-created). */
  queueForPublish(queue: string): Promise<void>;
  /** Throws queue-not-found now (so the attach itself is refused) unless the queue exists or will be auto-created. */
  assertQueueReachable(queue: string): void;
  /** The queue must exist (or is auto-created). */
  queueForConsume(queue: string): Promise<void>;
  /** Logs a failed engine settlement (an unknown delivery after a broker-side detach is routine). */
  settleInEngine(settlement: Promise<void>): void;
  /** Detaches a link from the broker side with an error. */
  detachLink(link: AnyLink, error: { condition: string; description: string }): void;
}
