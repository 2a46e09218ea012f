import type { Receiver, Sender } from 'rhea';

// rhea 3.0.5's typings leave out link state the adapter must read and set (node_modules/rhea/lib/link.js):
// the peer's ATTACH/DETACH, our own ATTACH before it is written, and the sender's credit.
// This module is the one place that reaches past the typings (STYLE.md §11).

/** A link as either role. */
export type AnyLink = Sender | Receiver;

/** The ATTACH fields Sluice reads (AMQP 1.0 §2.7.3), terminus already unwrapped by rhea. */
export interface AttachFields {
  name?: string;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  source?: Record<string, unknown> | null;
  target?: Record<string, unknown> | null;
}

interface LinkState {
  /** Deliveries the peer allows us to send now (sender) — link-credit as rhea computes it. */
  credit: number;
  readonly remote: { attach?: AttachFields; detach?: { closed?: boolean } };
  readonly local: { attach: AttachFields };
}

/** The state behind a link's typings. */
export function linkState(link: AnyLink): LinkState {
  return link as unknown as LinkState;
}

/**
 * The terminus fields worth echoing in our ATTACH, without the nulls rhea's unwrap leaves for
 * absent fields (re-encoding a null `capabilities` list throws in rhea's wrap_list).
 */
export function terminusEcho(terminus: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const echo: Record<string, unknown> = {};
  if (!terminus) return echo;
  for (const field of ['address', 'durable', 'expiry_policy', 'timeout', 'dynamic'])
    if (terminus[field] !== undefined && terminus[field] !== null) echo[field] = terminus[field];
  if (Array.isArray(terminus['capabilities'])) echo['capabilities'] = terminus['capabilities'];
  else if (typeof terminus['capabilities'] === 'string') echo['capabilities'] = [terminus['capabilities']];
  return echo;
}
