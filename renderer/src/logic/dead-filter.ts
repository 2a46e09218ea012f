/**
 * The Dead messages view's filter and selection: form fields → the contract's dead-message
 * filter, and which ids an action applies to. Pure, so the edge cases are unit-tested.
 */
import { deadReasonSchema, type OperationInput } from '../../../core/api/contract.ts';
import { fromLocalInput } from './format.ts';

/** A dead-message reason, from the contract. */
export type DeadReason = OperationInput<'dmq.list'>['reason'];

/** Every reason, in the contract's order. */
export const deadReasons = deadReasonSchema.options;

/** The filter bar as typed. */
export interface DeadFilterFields {
  readonly queue: string;
  readonly reason: '' | NonNullable<DeadReason>;
  readonly topic: string;
  /** `datetime-local` values. */
  readonly from: string;
  readonly until: string;
}

export const emptyDeadFilter: DeadFilterFields = { queue: '', reason: '', topic: '', from: '', until: '' };

/** The contract filter (fields left empty are not sent); or a problem with the times. */
export function deadFilterOf(
  fields: DeadFilterFields,
): { ok: true; filter: NonNullable<OperationInput<'dmq.redeliver'>['filter']> } | { ok: false; problem: string } {
  const deadFrom = fromLocalInput(fields.from);
  const deadUntil = fromLocalInput(fields.until);
  if (deadFrom !== undefined && deadUntil !== undefined && deadFrom > deadUntil)
    return { ok: false, problem: 'The “from” time is after the “until” time.' };
  return {
    ok: true,
    filter: {
      ...(fields.queue !== '' && { queue: fields.queue }),
      ...(fields.reason !== '' && { reason: fields.reason }),
      ...(fields.topic.trim() !== '' && { topic: fields.topic.trim() }),
      ...(deadFrom !== undefined && { deadFrom }),
      ...(deadUntil !== undefined && { deadUntil }),
    },
  };
}

/** True when the filter selects everything (the contract wants `all: true` said explicitly then). */
export function isEmptyFilter(filter: object): boolean {
  return Object.keys(filter).length === 0;
}

/** The `dmq.redeliver` / `dmq.purge` selection for "everything the filter shows". */
export function selectionOf(filter: object): OperationInput<'dmq.purge'> {
  return isEmptyFilter(filter) ? { all: true } : { filter };
}

/** Toggles one id in a selection (a new set: React sees the change). */
export function toggled(selection: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selection);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Splits ids into batches of at most `size`, for actions with progress. */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
