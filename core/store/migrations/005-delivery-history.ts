/**
 * Delivery history across DMQ round trips, and a replay's range apart from its total.
 * - `prior_deliveries`: deliveries a message had in earlier lives in this queue before it was
 *   dead-lettered and redelivered from the DMQ. An entry's own `delivery_count` restarts at 0
 *   (max redelivery applies afresh); the total stays visible as prior + own.
 * - `replays.in_range`: log messages in the replay's id range (what `scanned` counts up to);
 *   `total` is now what the replay copies: those matching its topic filter.
 */
export const version = 5;

export const up = `
ALTER TABLE queue_entries ADD COLUMN prior_deliveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_messages ADD COLUMN prior_deliveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replays ADD COLUMN in_range INTEGER NOT NULL DEFAULT 0;
UPDATE replays SET in_range = total;
`;
