/**
 * The connection registry: every listener (MQTT, AMQP, …) reports its client connections here,
 * with a hook to close them, so `connections.list` / `connections.disconnect` and `/metrics`
 * see every protocol the same way (docs/security.md, "Connections").
 *
 * A listener calls `register(…)` once a connection is authenticated, counts messages on the
 * handle it gets back, and calls `handle.closed()` when the connection ends.
 */
import { SluiceError } from '../errors.ts';

/** What a listener tells about a new connection. */
export interface ConnectionDescription {
  /** mqtt, amqp, … */
  readonly protocol: string;
  readonly clientId?: string | null;
  /** Authenticated user; null for anonymous. */
  readonly user?: string | null;
  /** Remote address, e.g. `127.0.0.1:53422`. */
  readonly address?: string | null;
}

/** A connection as listed. */
export interface ConnectionInfo {
  readonly id: string;
  readonly protocol: string;
  readonly clientId: string | null;
  readonly user: string | null;
  readonly address: string | null;
  readonly connectedAt: number;
  readonly counters: { readonly messagesIn: number; readonly messagesOut: number };
}

/** What a listener keeps for one registered connection. */
export interface ConnectionHandle {
  readonly id: string;
  /** Messages received from the client (publishes). */
  countIn(n?: number): void;
  /** Messages sent to the client (deliveries). */
  countOut(n?: number): void;
  /** The connection ended: it leaves the registry. Idempotent. */
  closed(): void;
}

interface Entry {
  info: Omit<ConnectionInfo, 'counters'>;
  counters: { messagesIn: number; messagesOut: number };
  disconnect: () => void;
}

/** All client connections of the broker. */
export class ConnectionRegistry {
  private readonly entries = new Map<string, Entry>();
  private sequence = 0;

  /** Adds a connection; `disconnect` closes it (the listener then calls `closed()`). */
  register(description: ConnectionDescription, disconnect: () => void): ConnectionHandle {
    const id = `${description.protocol}-${++this.sequence}`;
    const entry: Entry = {
      info: {
        id,
        protocol: description.protocol,
        clientId: description.clientId ?? null,
        user: description.user ?? null,
        address: description.address ?? null,
        connectedAt: Date.now(),
      },
      counters: { messagesIn: 0, messagesOut: 0 },
      disconnect,
    };
    this.entries.set(id, entry);
    return {
      id,
      countIn: (n = 1) => void (entry.counters.messagesIn += n),
      countOut: (n = 1) => void (entry.counters.messagesOut += n),
      closed: () => void this.entries.delete(id),
    };
  }

  /** Connections, oldest first; optionally one protocol's. */
  list(protocol?: string): ConnectionInfo[] {
    return [...this.entries.values()]
      .filter((entry) => protocol === undefined || entry.info.protocol === protocol)
      .map((entry) => ({ ...entry.info, counters: { ...entry.counters } }));
  }

  /** Closes one connection through its listener. */
  disconnect(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) throw new SluiceError('connection-not-found', `No connection "${id}"; see connections.list`);
    entry.disconnect();
  }

  /** Open connections per protocol (for /metrics). */
  countByProtocol(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { info } of this.entries.values()) counts.set(info.protocol, (counts.get(info.protocol) ?? 0) + 1);
    return counts;
  }
}
