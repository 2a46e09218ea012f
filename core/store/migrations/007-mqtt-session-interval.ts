/** MQTT 5 sessions keep their session expiry interval while connected, so a crash does not make them immortal. */
export const version = 7;

// mqtt_session_expiry gains the session expiry interval, and a row for a connected session:
// expires_at NULL while its client is connected (interval_sec says how long it will outlive the
// connection), the deadline once the connection ended. After a crash, a row without a deadline
// gets one counted from the restart. Existing rows all have a deadline.
export const up = `
CREATE TABLE mqtt_session_expiry_next (
  client_id    TEXT PRIMARY KEY,
  expires_at   INTEGER,
  interval_sec INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO mqtt_session_expiry_next (client_id, expires_at, interval_sec)
  SELECT client_id, expires_at, 0 FROM mqtt_session_expiry;
DROP TABLE mqtt_session_expiry;
ALTER TABLE mqtt_session_expiry_next RENAME TO mqtt_session_expiry;
`;
