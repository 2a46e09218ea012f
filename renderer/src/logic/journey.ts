/** The message journey's words (docs/journey.md): each step as a title and one line of facts. */
import type { OperationOutput } from '../../../core/api/contract.ts';

/** A journey as the API answers it. */
export type WireJourney = OperationOutput<'messages.journey'>;
/** One of its steps. */
export type WireJourneyStep = WireJourney['steps'][number];

const titles: Record<WireJourneyStep['kind'], string> = {
  published: 'Published',
  routed: 'Routed',
  delivered: 'Delivered',
  acked: 'Acknowledged',
  released: 'Released',
  failed: 'Failed',
  rejected: 'Rejected',
  expired: 'Expired',
  evicted: 'Evicted (queue full)',
  'dead-lettered': 'Dead-lettered',
  discarded: 'Discarded',
  redelivered: 'Redelivered from the DMQ',
  replayed: 'Replay copy',
  purged: 'Purged',
  'queue-deleted': 'Queue deleted',
  returned: 'Returned after restart',
  'dead-purged': 'Purged from the DMQ',
};

/** How a step is coloured: trouble, a good end, or neither. */
export function stepTone(kind: WireJourneyStep['kind']): 'danger' | 'ok' | 'warn' | '' {
  if (kind === 'rejected' || kind === 'dead-lettered' || kind === 'failed' || kind === 'expired') return 'danger';
  if (kind === 'discarded' || kind === 'evicted' || kind === 'purged' || kind === 'dead-purged') return 'warn';
  if (kind === 'acked') return 'ok';
  return '';
}

/** A step's title. */
export function stepTitle(step: WireJourneyStep): string {
  return titles[step.kind];
}

/** A step's facts in one line: where, who, over what, and why. */
export function stepFacts(step: WireJourneyStep): string {
  const parts: string[] = [];
  if (step.kind === 'published') {
    if (step.publisher !== null) parts.push(`by ${step.publisher}`);
    if (step.protocol !== null) parts.push(`over ${step.protocol}`);
    return parts.join(' ') || 'publisher not recorded';
  }
  if (step.queue !== null)
    parts.push(
      `${step.kind === 'redelivered' || step.kind === 'replayed' || step.kind === 'routed' ? 'to' : 'in'} ${step.queue}`,
    );
  if (step.consumer !== null)
    parts.push(`consumer ${step.consumer}${step.protocol !== null ? ` (${step.protocol})` : ''}`);
  if (step.attempt !== null) parts.push(`attempt ${step.attempt}`);
  if (step.reason !== null) parts.push(`reason ${step.reason}`);
  if (step.dmq !== null) parts.push(`${step.kind === 'dead-lettered' ? 'to' : 'from'} ${step.dmq}`);
  if (step.replayId !== null) parts.push(`replay ${step.replayId}`);
  return parts.join(' · ');
}
