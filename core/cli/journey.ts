/**
 * `sluice trace <id>`: one message's journey (docs/journey.md) as a table of its steps in order,
 * then where it is now.
 */
import type { OperationOutput } from '../api/contract.ts';
import { bytes, command, table, time } from './kit.ts';

type Journey = OperationOutput<'messages.journey'>;
type Step = Journey['steps'][number];

/** The facts a step carries besides its time, queue, consumer and protocol, in a few words. */
export function stepDetail(step: Step): string {
  const parts: string[] = [];
  if (step.publisher !== null) parts.push(`by ${step.publisher}`);
  if (step.attempt !== null) parts.push(`attempt ${step.attempt}`);
  if (step.reason !== null) parts.push(step.reason);
  if (step.dmq !== null)
    parts.push(
      `${step.kind === 'redelivered' || step.kind === 'dead-purged' ? 'from' : 'to'} ${step.dmq}` +
        (step.deadMessageId !== null ? ` (dead message ${step.deadMessageId})` : ''),
    );
  if (step.replayId !== null) parts.push(`replay ${step.replayId}`);
  if (step.error !== null) parts.push(`error: ${step.error}`);
  return parts.join(' · ');
}

/** The whole journey as the CLI prints it. */
export function showJourney(j: Journey): string {
  const m = j.message;
  const head =
    `Message ${m.id} on ${m.topic} (${bytes(m.size)}), published ${time(m.timestamp)}` +
    (m.publisher !== null ? ` by ${m.publisher}` : '') +
    (m.protocol !== null ? ` over ${m.protocol}` : '') +
    (m.inLog ? '' : ' — pruned from the log; a dead copy remains');
  const steps = table(
    ['#', 'TIME', 'STEP', 'QUEUE', 'ENTRY', 'CONSUMER', 'PROTOCOL', 'DETAIL'],
    j.steps.map((s, i) => [
      i + 1,
      time(s.at),
      s.kind,
      s.queue ?? '-',
      s.entryId ?? '-',
      s.consumer ?? '-',
      s.protocol ?? '-',
      stepDetail(s),
    ]),
  );
  const now = [
    ...j.now.entries.map((e) => `in ${e.queue} (entry ${e.entryId}, ${e.state}${e.replayed ? ', replayed copy' : ''})`),
    ...j.now.dead.map((d) => `dead in ${d.dmq} from ${d.queue} (dead message ${d.id}, ${d.reason})`),
  ];
  return [
    head,
    steps,
    `Now: ${now.length > 0 ? now.join('; ') : 'in no queue (done)'}`,
    ...(j.recording
      ? []
      : ['Journey recording is off on this broker: only the publish and the queues it is in now show.']),
  ].join('\n');
}

/** The client commands of this module (core/cli.ts adds them). */
export const journeyCommands = [
  command({
    words: ['trace'],
    op: 'messages.journey',
    args: ['<id>'],
    human: showJourney,
    hints: { 'message-not-found': 'journeys go with their message when retention prunes it' },
  }),
];
