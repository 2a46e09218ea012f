import { describe, expect, test } from 'vitest';
import { journeyHref, journeyIdFromHash, viewFromHash } from '../views/routes.ts';
import { stepFacts, stepTitle, stepTone, type WireJourneyStep } from './journey.ts';

const blank: WireJourneyStep = {
  kind: 'delivered',
  at: 0,
  queue: null,
  entryId: null,
  publisher: null,
  consumer: null,
  protocol: null,
  attempt: null,
  error: null,
  reason: null,
  dmq: null,
  deadMessageId: null,
  replayId: null,
};

describe('journey', () => {
  test('a journey link opens the journey view with its message id', () => {
    expect(viewFromHash(journeyHref('42'))).toBe('journey');
    expect(journeyIdFromHash(journeyHref('42'))).toBe('42');
    expect(journeyIdFromHash('#/journey')).toBeUndefined();
  });
  test('a published step says by whom and over which protocol', () => {
    expect(stepFacts({ ...blank, kind: 'published', publisher: 'plc-7', protocol: 'mqtt' })).toBe('by plc-7 over mqtt');
  });
  test('a delivery names its queue, consumer, protocol and attempt', () => {
    const step = { ...blank, queue: 'orders', consumer: 'amqp:c/orders', protocol: 'amqp', attempt: 2 };
    expect(stepFacts(step)).toBe('in orders · consumer amqp:c/orders (amqp) · attempt 2');
  });
  test('a dead-letter is trouble and says why and where to', () => {
    const step = { ...blank, kind: 'dead-lettered' as const, queue: 'orders', reason: 'rejected', dmq: '#DMQ' };
    expect(stepTitle(step)).toBe('Dead-lettered');
    expect(stepTone(step.kind)).toBe('danger');
    expect(stepFacts(step)).toBe('in orders · reason rejected · to #DMQ');
    expect(stepTone('acked')).toBe('ok');
  });
});
