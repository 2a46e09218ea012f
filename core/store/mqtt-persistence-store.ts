import type Database from 'better-sqlite3';
import type { Tx } from './store.ts';

/** An MQTT packet as stored: its payload, and every other field as given. */
export interface StoredPacket {
  readonly fields: Readonly<Record<string, unknown>>;
  readonly payload: Buffer;
}

/** A stored subscription of a persistent MQTT session. */
export interface StoredSubscription {
  readonly clientId: string;
  readonly topic: string;
  /** qos, rh, rap, nl as aedes keeps them. */
  readonly options: Readonly<Record<string, unknown>>;
}

interface PacketRow {
  fields: string;
  payload: Buffer;
}

/**
 * SQL for the aedes persistence (core/protocols/mqtt/persistence.ts): retained messages,
 * subscriptions, wills and QoS handshake state. Reads are for start-up; writes take a `Tx`
 * so they only run inside a store transaction or an engine group commit.
 */
export class MqttPersistenceStore {
  private readonly s: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.s = prepare(db);
  }

  // ── retained ───────────────────────────────────────────────────────────────────────
  loadRetained(): StoredPacket[] {
    return (this.s.loadRetained.all() as PacketRow[]).map(decodePacket);
  }
  putRetained(_tx: Tx, topic: string, packet: StoredPacket): void {
    this.s.putRetained.run(topic, encodeFields(packet.fields), packet.payload);
  }
  deleteRetained(_tx: Tx, topic: string): void {
    this.s.deleteRetained.run(topic);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────────────
  loadSubscriptions(): StoredSubscription[] {
    return (this.s.loadSubscriptions.all() as Array<{ client_id: string; topic: string; options: string }>).map(
      (row) => ({ clientId: row.client_id, topic: row.topic, options: JSON.parse(row.options) }),
    );
  }
  putSubscription(_tx: Tx, subscription: StoredSubscription): void {
    this.s.putSubscription.run(subscription.clientId, subscription.topic, JSON.stringify(subscription.options));
  }
  deleteSubscription(_tx: Tx, clientId: string, topic: string): void {
    this.s.deleteSubscription.run(clientId, topic);
  }
  deleteSubscriptionsOf(_tx: Tx, clientId: string): void {
    this.s.deleteSubscriptionsOf.run(clientId);
  }

  // ── outgoing ───────────────────────────────────────────────────────────────────────
  /** Every client's outgoing packets, in order. */
  loadOutgoing(): Array<{ clientId: string; packet: StoredPacket }> {
    return (this.s.loadOutgoing.all() as Array<PacketRow & { client_id: string }>).map((row) => ({
      clientId: row.client_id,
      packet: decodePacket(row),
    }));
  }
  /** Replaces a client's outgoing packets with `packets`, in order. */
  replaceOutgoing(_tx: Tx, clientId: string, packets: readonly StoredPacket[]): void {
    this.s.deleteOutgoingOf.run(clientId);
    packets.forEach((packet, seq) =>
      this.s.insertOutgoing.run(clientId, seq, encodeFields(packet.fields), packet.payload),
    );
  }

  // ── incoming (QoS 2) ───────────────────────────────────────────────────────────────
  loadIncoming(): Array<{ clientId: string; messageId: number; packet: StoredPacket }> {
    return (this.s.loadIncoming.all() as Array<PacketRow & { client_id: string; message_id: number }>).map((row) => ({
      clientId: row.client_id,
      messageId: row.message_id,
      packet: decodePacket(row),
    }));
  }
  putIncoming(_tx: Tx, clientId: string, messageId: number, packet: StoredPacket): void {
    this.s.putIncoming.run(clientId, messageId, encodeFields(packet.fields), packet.payload);
  }
  deleteIncoming(_tx: Tx, clientId: string, messageId: number): void {
    this.s.deleteIncoming.run(clientId, messageId);
  }
  deleteIncomingOf(_tx: Tx, clientId: string): void {
    this.s.deleteIncomingOf.run(clientId);
  }

  // ── wills ──────────────────────────────────────────────────────────────────────────
  loadWills(): Array<{ clientId: string; packet: StoredPacket }> {
    return (this.s.loadWills.all() as Array<PacketRow & { client_id: string }>).map((row) => ({
      clientId: row.client_id,
      packet: decodePacket(row),
    }));
  }
  putWill(_tx: Tx, clientId: string, packet: StoredPacket): void {
    this.s.putWill.run(clientId, encodeFields(packet.fields), packet.payload);
  }
  deleteWill(_tx: Tx, clientId: string): void {
    this.s.deleteWill.run(clientId);
  }
  /** The stored will of one client, as the last committed write left it. */
  loadWill(clientId: string): StoredPacket | undefined {
    const row = this.s.loadWill.get(clientId) as PacketRow | undefined;
    return row && decodePacket(row);
  }

  // ── session expiry (MQTT 5) ────────────────────────────────────────────────────────
  /**
   * MQTT 5 persistent sessions with a finite expiry interval, by client id: the deadline (ms since
   * the epoch) once disconnected, null while connected (or connected when the broker stopped).
   */
  loadSessionExpiries(): Array<{ clientId: string; expiresAt: number | null; intervalSec: number }> {
    return (
      this.s.loadSessionExpiries.all() as Array<{ client_id: string; expires_at: number | null; interval_sec: number }>
    ).map((row) => ({ clientId: row.client_id, expiresAt: row.expires_at, intervalSec: row.interval_sec }));
  }
  /** Sets when the session of `clientId` expires; null deletes the row (it does not expire). */
  putSessionExpiry(_tx: Tx, clientId: string, expiresAt: number | null): void {
    if (expiresAt === null) this.s.deleteSessionExpiry.run(clientId);
    else this.s.putSessionExpiry.run(clientId, expiresAt, 0);
  }
  /** The session of `clientId` is connected; it will outlive its connection by `intervalSec`. */
  putConnectedSession(_tx: Tx, clientId: string, intervalSec: number): void {
    this.s.putSessionExpiry.run(clientId, null, intervalSec);
  }
}

function prepare(db: Database.Database) {
  return {
    loadRetained: db.prepare('SELECT fields, payload FROM mqtt_retained'),
    putRetained: db.prepare('INSERT OR REPLACE INTO mqtt_retained (topic, fields, payload) VALUES (?, ?, ?)'),
    deleteRetained: db.prepare('DELETE FROM mqtt_retained WHERE topic = ?'),
    loadSubscriptions: db.prepare('SELECT client_id, topic, options FROM mqtt_subscriptions'),
    putSubscription: db.prepare(
      'INSERT OR REPLACE INTO mqtt_subscriptions (client_id, topic, options) VALUES (?, ?, ?)',
    ),
    deleteSubscription: db.prepare('DELETE FROM mqtt_subscriptions WHERE client_id = ? AND topic = ?'),
    deleteSubscriptionsOf: db.prepare('DELETE FROM mqtt_subscriptions WHERE client_id = ?'),
    loadOutgoing: db.prepare('SELECT client_id, fields, payload FROM mqtt_outgoing ORDER BY client_id, seq'),
    deleteOutgoingOf: db.prepare('DELETE FROM mqtt_outgoing WHERE client_id = ?'),
    insertOutgoing: db.prepare('INSERT INTO mqtt_outgoing (client_id, seq, fields, payload) VALUES (?, ?, ?, ?)'),
    loadIncoming: db.prepare('SELECT client_id, message_id, fields, payload FROM mqtt_incoming'),
    putIncoming: db.prepare(
      'INSERT OR REPLACE INTO mqtt_incoming (client_id, message_id, fields, payload) VALUES (?, ?, ?, ?)',
    ),
    deleteIncoming: db.prepare('DELETE FROM mqtt_incoming WHERE client_id = ? AND message_id = ?'),
    deleteIncomingOf: db.prepare('DELETE FROM mqtt_incoming WHERE client_id = ?'),
    loadWills: db.prepare('SELECT client_id, fields, payload FROM mqtt_wills'),
    loadWill: db.prepare('SELECT fields, payload FROM mqtt_wills WHERE client_id = ?'),
    putWill: db.prepare('INSERT OR REPLACE INTO mqtt_wills (client_id, fields, payload) VALUES (?, ?, ?)'),
    deleteWill: db.prepare('DELETE FROM mqtt_wills WHERE client_id = ?'),
    loadSessionExpiries: db.prepare('SELECT client_id, expires_at, interval_sec FROM mqtt_session_expiry'),
    putSessionExpiry: db.prepare(
      'INSERT OR REPLACE INTO mqtt_session_expiry (client_id, expires_at, interval_sec) VALUES (?, ?, ?)',
    ),
    deleteSessionExpiry: db.prepare('DELETE FROM mqtt_session_expiry WHERE client_id = ?'),
  };
}

// Buffers inside the fields (MQTT 5 correlation data) survive the JSON round trip.
function encodeFields(fields: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(fields);
}

function decodePacket(row: PacketRow): StoredPacket {
  const fields = JSON.parse(row.fields, (_key, value: unknown) => {
    if (
      value !== null &&
      typeof value === 'object' &&
      (value as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((value as { data?: unknown }).data)
    )
      return Buffer.from((value as { data: number[] }).data);
    return value;
  }) as Record<string, unknown>;
  return { fields, payload: Buffer.from(row.payload) };
}
