/** MQTT 5 session expiry deadlines, so that a disconnected persistent session expires across restarts. */
export const version = 4;

// One row per disconnected MQTT 5 persistent session with a finite session expiry interval:
// when it is discarded (its engine queue `mqtt/<clientId>` and stored subscriptions), in ms since
// the epoch. A reconnect deletes the row; "never" (0xFFFFFFFF) and 3.1.1 sessions have none.
export const up = `
CREATE TABLE mqtt_session_expiry (
  client_id  TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;
