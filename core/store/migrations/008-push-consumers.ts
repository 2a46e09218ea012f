/** Push consumers created through the API (docs/push.md); file-declared ones are written here too at startup. */
export const version = 8;

// One row per push consumer: its whole configuration as JSON (secrets included: the data
// directory is the broker's own; the API and exports redact them), where it came from, and when.
export const up = `
CREATE TABLE push_consumers (
  name        TEXT PRIMARY KEY,
  queue       TEXT NOT NULL,
  config_json TEXT NOT NULL,
  source      TEXT NOT NULL,
  created_by  TEXT,
  updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
`;
