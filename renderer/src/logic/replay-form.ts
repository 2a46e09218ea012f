/**
 * The Replay form: a target, a start on the log's timeline, an optional end and topic filter →
 * the contract's replay spec. Also where a time sits on the timeline (for the picker).
 */
import type { OperationInput } from '../../../core/api/contract.ts';
import { fromLocalInput } from './format.ts';

/** Where a replay starts or ends. */
export type PositionKind = 'beginning' | 'timestamp' | 'message-id' | 'none';

/** The form as typed. */
export interface ReplayFields {
  readonly queue: string;
  /** Create the queue first (a new consumer's queue) when it does not exist. */
  readonly create: boolean;
  readonly startKind: Exclude<PositionKind, 'none'>;
  readonly startTime: string;
  readonly startId: string;
  readonly endKind: Exclude<PositionKind, 'beginning'>;
  readonly endTime: string;
  readonly endId: string;
  readonly topicFilter: string;
}

export const emptyReplay: ReplayFields = {
  queue: '',
  create: false,
  startKind: 'beginning',
  startTime: '',
  startId: '',
  endKind: 'none',
  endTime: '',
  endId: '',
  topicFilter: '',
};

type Spec = OperationInput<'replay.start'>;

/** The replay spec, or the first problem with the form. */
export function replaySpecOf(fields: ReplayFields): { ok: true; spec: Spec } | { ok: false; problem: string } {
  const queue = fields.queue.trim();
  if (queue === '') return { ok: false, problem: 'Pick the queue that receives the replayed messages.' };
  const start = positionOf(fields.startKind, fields.startTime, fields.startId, 'start');
  if (typeof start === 'string') return { ok: false, problem: start };
  const end = fields.endKind === 'none' ? undefined : positionOf(fields.endKind, fields.endTime, fields.endId, 'end');
  if (typeof end === 'string') return { ok: false, problem: end };
  if (start?.kind === 'timestamp' && end?.kind === 'timestamp' && end.at < start.at)
    return { ok: false, problem: 'The end is before the start.' };
  const topicFilter = fields.topicFilter.trim();
  return {
    ok: true,
    spec: {
      target: { queue, ...(fields.create && { create: {} }) },
      start: start ?? { kind: 'beginning' },
      ...(end && end.kind !== 'beginning' && { end }),
      ...(topicFilter !== '' && { topicFilter }),
    },
  };
}

function positionOf(
  kind: PositionKind,
  time: string,
  id: string,
  which: 'start' | 'end',
): Spec['start'] | undefined | string {
  if (kind === 'beginning') return { kind: 'beginning' };
  if (kind === 'none') return undefined;
  if (kind === 'timestamp') {
    const at = fromLocalInput(time);
    return at === undefined ? `Give the ${which} time.` : { kind: 'timestamp', at };
  }
  const trimmed = id.trim();
  return /^\d+$/.test(trimmed) ? { kind: 'message-id', id: trimmed } : `The ${which} message id is a number.`;
}

/** A time's place on the timeline from `from` to `to`, as a share 0–1 (clamped). */
export function timelineShare(at: number, from: number, to: number): number {
  if (to <= from) return 1;
  return Math.min(1, Math.max(0, (at - from) / (to - from)));
}

/** The time at a share of the timeline (the inverse, for a click on it). */
export function timeAtShare(share: number, from: number, to: number): number {
  return Math.round(from + Math.min(1, Math.max(0, share)) * (to - from));
}
