/**
 * The message journey (docs/journey.md): what happened to a message after it was published,
 * one row per step, kept as long as the message (its log row or a dead copy) and deleted with it.
 * - Clustered by (message_id, at_us): a journey is one range read; pruning a log range is one
 *   range delete. `at_us` is microseconds since the epoch, made unique and increasing across the
 *   broker by the engine, so it both times and orders a message's steps.
 * - The publish and the routing are not stored: the log row has the time, publisher and protocol,
 *   and the queues a message was routed to are those its entries and its steps name.
 * - `dead_messages_message`: pruning keeps the journey of a message whose dead copy outlives it.
 */
export const version = 9;

export const up = `
CREATE TABLE journey_events (
  message_id INTEGER NOT NULL,
  at_us      INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  queue_id   INTEGER,
  entry_id   INTEGER,
  consumer   TEXT,
  detail     TEXT,
  PRIMARY KEY (message_id, at_us)
) WITHOUT ROWID;
CREATE INDEX dead_messages_message ON dead_messages (message_id);
`;
