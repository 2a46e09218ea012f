/**
 * The queue configuration form: text fields ↔ the contract's queue config. Sizes are typed in
 * MiB and times in seconds (what people think in); the contract's units are bytes and ms.
 */
import type { OperationInput, WireQueueInfo } from '../../../core/api/contract.ts';
import { defaultDeadMessageQueue } from '../../../core/schema/queue-config.ts';

type QueueConfig = WireQueueInfo['config'];

/** The form as typed. */
export interface QueueFields {
  readonly name: string;
  /** One topic filter per line. */
  readonly subscriptions: string;
  readonly maxDepthMessages: string;
  readonly maxDepthMiB: string;
  readonly overflow: QueueConfig['overflow'];
  readonly maxRedelivery: string;
  /** Empty: no default TTL. */
  readonly defaultTtlSeconds: string;
  readonly deadMessageQueue: string;
  readonly accessType: QueueConfig['accessType'];
}

const MiB = 1024 * 1024;

/** A new queue's form, with the broker's defaults. */
export const newQueueFields: QueueFields = {
  name: '',
  subscriptions: '',
  maxDepthMessages: '1000000',
  maxDepthMiB: '1024',
  overflow: 'reject-publisher',
  maxRedelivery: '10',
  defaultTtlSeconds: '',
  deadMessageQueue: defaultDeadMessageQueue,
  accessType: 'non-exclusive',
};

/** A queue's current configuration as form fields. */
export function fieldsOf(queue: Pick<WireQueueInfo, 'name' | 'config'>): QueueFields {
  const { config } = queue;
  return {
    name: queue.name,
    subscriptions: config.subscriptions.join('\n'),
    maxDepthMessages: String(config.maxDepthMessages),
    maxDepthMiB: String(+(config.maxDepthBytes / MiB).toFixed(3)),
    overflow: config.overflow,
    maxRedelivery: String(config.maxRedelivery),
    defaultTtlSeconds: config.defaultTtlMs === null ? '' : String(config.defaultTtlMs / 1000),
    deadMessageQueue: config.deadMessageQueue,
    accessType: config.accessType,
  };
}

/** The configuration the fields describe, or the first problem. */
export function configOf(fields: QueueFields): { ok: true; config: QueueConfig } | { ok: false; problem: string } {
  const whole = (text: string, what: string, min: number) => {
    const n = Number(text.trim());
    return Number.isInteger(n) && n >= min ? n : `${what} must be a whole number${min > 0 ? ' above 0' : ''}.`;
  };
  const maxDepthMessages = whole(fields.maxDepthMessages, 'Max depth (messages)', 1);
  if (typeof maxDepthMessages === 'string') return { ok: false, problem: maxDepthMessages };
  const maxRedelivery = whole(fields.maxRedelivery, 'Max redelivery', 0);
  if (typeof maxRedelivery === 'string') return { ok: false, problem: maxRedelivery };
  const mib = Number(fields.maxDepthMiB.trim());
  if (!(Number.isFinite(mib) && mib > 0)) return { ok: false, problem: 'Max depth (MiB) must be a number above 0.' };
  const ttlText = fields.defaultTtlSeconds.trim();
  const ttl = ttlText === '' ? null : Number(ttlText);
  if (ttl !== null && !(Number.isFinite(ttl) && ttl > 0))
    return { ok: false, problem: 'Default TTL is a number of seconds above 0, or empty for none.' };
  const dmq = fields.deadMessageQueue.trim();
  if (dmq === '') return { ok: false, problem: 'Name the dead message queue (default #DMQ).' };
  return {
    ok: true,
    config: {
      subscriptions: subscriptionsOf(fields.subscriptions),
      maxDepthMessages,
      maxDepthBytes: Math.max(1, Math.round(mib * MiB)),
      overflow: fields.overflow,
      maxRedelivery,
      defaultTtlMs: ttl === null ? null : Math.round(ttl * 1000),
      deadMessageQueue: dmq,
      accessType: fields.accessType,
    },
  };
}

/** Topic filters, one per line (commas allowed too); blanks and repeats dropped. */
export function subscriptionsOf(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\n,]/)
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    ),
  ];
}

/** A `queues.update` input carrying only what changed (the contract keeps what is not named). */
export function updateOf(name: string, before: QueueConfig, after: QueueConfig): OperationInput<'queues.update'> {
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof QueueConfig)[])
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes[key] = after[key];
  return { name, ...changes };
}
