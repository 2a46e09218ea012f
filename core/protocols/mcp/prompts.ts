/**
 * MCP prompts: the commissioning engineer's recurring questions, written out as the steps an
 * agent should take with Sluice's tools (docs/mcp.md). Each names the tools to call and the
 * order; none acts on its own.
 */
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import { SluiceError } from '../../errors.ts';

/** The prompts every session offers. */
export const prompts: Prompt[] = [
  {
    name: 'explain-dead-messages',
    title: 'Explain dead messages in a queue',
    description: 'Why are messages dying in this queue, and what would bring them back safely?',
    arguments: [{ name: 'queue', description: 'The queue whose messages die', required: true }],
  },
  {
    name: 'plan-replay',
    title: 'Plan a replay for a late consumer',
    description:
      'Replay the messages a consumer missed from the log into its queue, without duplicates it cannot handle',
    arguments: [
      { name: 'queue', description: 'The late consumer’s queue', required: true },
      { name: 'since', description: 'From when (ISO 8601 time); default: ask the user', required: false },
    ],
  },
  {
    name: 'check-bridge',
    title: 'Check a bridge’s health',
    description: 'Is this store-and-forward bridge connected, and is its backlog draining?',
    arguments: [{ name: 'bridge', description: 'The bridge’s name', required: true }],
  },
];

const user = (text: string): GetPromptResult['messages'][number] => ({ role: 'user', content: { type: 'text', text } });

/** The prompt text with its arguments filled in. */
export function getPrompt(name: string, args: Readonly<Record<string, string>> = {}): GetPromptResult {
  const need = (key: string) => {
    const value = args[key];
    if (value === undefined || value.trim() === '')
      throw new SluiceError('invalid-input', `The prompt "${name}" needs the argument "${key}"`);
    return value;
  };
  switch (name) {
    case 'explain-dead-messages': {
      const queue = need('queue');
      return {
        description: `Why messages die in ${queue}`,
        messages: [
          user(
            [
              `Messages are dying in the Sluice queue "${queue}". Find out why, using the Sluice tools:`,
              `1. Read the resource sluice://queues/${encodeURIComponent(queue)} (or call queues_get) for its configuration: maxRedelivery, defaultTtlMs, overflow, consumers.`,
              `2. Call dmq_counts and look at byReason for "${queue}": max-redelivery means the consumer keeps failing, ttl-expired means nobody consumed in time, overflow means the queue was full, rejected means the consumer refused them.`,
              `3. Call dmq_list with queue "${queue}" (limit 20) and dmq_get on one or two ids: compare their error text, topics, delivery counts and payload previews.`,
              '4. Explain the cause in plain words, with the numbers.',
              `5. Propose the fix on the consumer side first. Only when the user confirms the consumer is fixed, offer dmq_redeliver with filter { queue: "${queue}" } (it sends them back to the original queue). Never purge without the user’s explicit yes.`,
            ].join('\n'),
          ),
        ],
      };
    }
    case 'plan-replay': {
      const queue = need('queue');
      const since = args.since?.trim();
      return {
        description: `Replay for the late consumer of ${queue}`,
        messages: [
          user(
            [
              `The consumer of the Sluice queue "${queue}" was late or down and missed messages. Plan a replay:`,
              `1. Call queues_get for "${queue}": its subscriptions are the topics to replay; note its depth and consumers.`,
              '2. Call stats_get: storage.logStartTime is the oldest message still in the log (a replay cannot start earlier).',
              since
                ? `3. Start point: ${since} (convert it to ms since the epoch for start { kind: "timestamp", at: ... }).`
                : '3. Ask the user from when to replay (a time), unless they already said.',
              `4. Tell the user what will happen: replayed copies carry the header sluice-replayed: true, and a consumer that is not idempotent may process a message twice.`,
              `5. When the user agrees, call replay_start with target { queue: "${queue}" }, the start, and topicFilter if only some topics are wanted; then replay_get until state is completed and report replayed / total.`,
            ].join('\n'),
          ),
        ],
      };
    }
    case 'check-bridge': {
      const bridge = need('bridge');
      return {
        description: `Health of bridge ${bridge}`,
        messages: [
          user(
            [
              `Check the health of the Sluice bridge "${bridge}":`,
              `1. Call bridges_status and find "${bridge}": state, backlog, forwarded and received counts, lastError, alarms.`,
              `2. Its outbound backlog is the queue "bridge/${bridge}": read sluice://queues/${encodeURIComponent(`bridge/${bridge}`)} for depth and dead messages.`,
              '3. Call bridges_status again after a few seconds: is the backlog shrinking, are the counts moving?',
              '4. Report: connected or not, since when the last error, whether the backlog drains and how long it may take; suggest what to check upstream.',
            ].join('\n'),
          ),
        ],
      };
    }
    default:
      throw new SluiceError('invalid-input', `No prompt "${name}"; see prompts/list`);
  }
}
