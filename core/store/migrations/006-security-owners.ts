/** Owners of stateful resources: persistent MQTT sessions, AMQP durable subscriptions, `$share` queues. */
export const version = 6;

// DESIGN.md: state has an owner. One row per owned resource, keyed by the engine queue name
// behind it (`mqtt/<clientId>`, `amqp-sub/<container>/<link>`, `mqtt-share/<group>/<filter>`);
// `user` is '' for anonymous. Another user presenting the same identifier is refused.
export const up = `
CREATE TABLE security_owners (
  resource   TEXT PRIMARY KEY,
  user       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX security_owners_by_user ON security_owners (user);
`;
