/** The first schema: message log, queues, queue entries, dead messages, replays. */
export const version = 1;

export const up = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- The message log: append-only, the replay source. AUTOINCREMENT: ids are never reused,
-- so a dead message redelivered with its original id cannot collide with a newer message.
-- No index on ts: ts never decreases along id, so time look-ups binary-search the primary key.
CREATE TABLE messages (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  ts           INTEGER NOT NULL,
  topic        TEXT    NOT NULL,
  payload      BLOB    NOT NULL,
  props        TEXT,
  expires_at   INTEGER,
  dmq_eligible INTEGER NOT NULL,
  size         INTEGER NOT NULL
);

CREATE TABLE queues (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT    NOT NULL UNIQUE,
  config     TEXT    NOT NULL,
  counters   TEXT    NOT NULL DEFAULT '{}',
  -- Highest entry id ever assigned: delivery ids never repeat, even after the queue drains.
  last_entry_id INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);

-- Clustered by (queue_id, id): a queue's entries are read in delivery order without an extra index.
CREATE TABLE queue_entries (
  queue_id           INTEGER NOT NULL,
  id                 INTEGER NOT NULL,
  message_id         INTEGER NOT NULL,
  state              INTEGER NOT NULL,
  delivery_count     INTEGER NOT NULL DEFAULT 0,
  first_delivered_at INTEGER,
  last_delivered_at  INTEGER,
  expires_at         INTEGER,
  size               INTEGER NOT NULL,
  replayed           INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue_id, id)
) WITHOUT ROWID;
-- Retention must not delete a message an entry still points at.
CREATE INDEX queue_entries_message ON queue_entries (message_id);
CREATE INDEX queue_entries_expiry ON queue_entries (expires_at) WHERE expires_at IS NOT NULL;

-- A dead message is a full copy, so it outlives log retention unchanged.
CREATE TABLE dead_messages (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  dmq                TEXT    NOT NULL,
  message_id         INTEGER NOT NULL,
  ts                 INTEGER NOT NULL,
  topic              TEXT    NOT NULL,
  payload            BLOB    NOT NULL,
  props              TEXT,
  expires_at         INTEGER,
  dmq_eligible       INTEGER NOT NULL,
  size               INTEGER NOT NULL,
  queue              TEXT    NOT NULL,
  reason             TEXT    NOT NULL,
  delivery_count     INTEGER NOT NULL,
  first_delivered_at INTEGER,
  last_delivered_at  INTEGER,
  dead_at            INTEGER NOT NULL,
  consumer           TEXT,
  error              TEXT
);
CREATE INDEX dead_messages_dmq ON dead_messages (dmq, id);
CREATE INDEX dead_messages_queue ON dead_messages (queue, id);

CREATE TABLE replays (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  spec        TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  start_id    INTEGER NOT NULL,
  cursor      INTEGER NOT NULL,
  end_id      INTEGER NOT NULL,
  scanned     INTEGER NOT NULL DEFAULT 0,
  replayed    INTEGER NOT NULL DEFAULT 0,
  total       INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER,
  error       TEXT
);
`;
