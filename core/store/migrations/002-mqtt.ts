/** MQTT session state kept by the aedes persistence: retained messages, subscriptions, wills, QoS handshakes. */
export const version = 2;

// Packets are stored as their payload (BLOB) plus the other fields as JSON, so a packet
// reads back as aedes wrote it. Queued messages of persistent sessions are NOT here: they
// are engine queue entries (DESIGN.md: MQTT sessions are queues).
export const up = `
CREATE TABLE mqtt_retained (
  topic   TEXT PRIMARY KEY,
  fields  TEXT NOT NULL,
  payload BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE mqtt_subscriptions (
  client_id TEXT NOT NULL,
  topic     TEXT NOT NULL,
  options   TEXT NOT NULL,
  PRIMARY KEY (client_id, topic)
) WITHOUT ROWID;

-- aedes' outgoing store, in order per client (used when the persistence runs on its own;
-- the broker replaces it with engine queues).
CREATE TABLE mqtt_outgoing (
  client_id TEXT    NOT NULL,
  seq       INTEGER NOT NULL,
  fields    TEXT    NOT NULL,
  payload   BLOB    NOT NULL,
  PRIMARY KEY (client_id, seq)
) WITHOUT ROWID;

-- Inbound QoS 2 packets awaiting PUBREL [MQTT-4.3.3-2].
CREATE TABLE mqtt_incoming (
  client_id  TEXT    NOT NULL,
  message_id INTEGER NOT NULL,
  fields     TEXT    NOT NULL,
  payload    BLOB    NOT NULL,
  PRIMARY KEY (client_id, message_id)
) WITHOUT ROWID;

CREATE TABLE mqtt_wills (
  client_id TEXT PRIMARY KEY,
  fields    TEXT NOT NULL,
  payload   BLOB NOT NULL
) WITHOUT ROWID;
`;
