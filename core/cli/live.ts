/**
 * `sluice watch` and `sluice topics stream`: live events printed as they arrive (one line each,
 * or NDJSON with --json) until the subscription ends, --count is reached or Ctrl-C.
 */
import type { Command } from 'commander';
import type { EventSubscription } from '../api/client.ts';
import { contract, parseInput, type BrokerEvent, type WireMessage } from '../api/contract.ts';
import { preview, rates, time, type Output, type RunClient } from './kit.ts';

/** Adds `watch` to the program and `stream` to its `topics` group. */
export function addLiveCommands(program: Command, topicsGroup: Command, run: RunClient, io: Output): void {
  program
    .command('watch')
    .description(`${contract['events.stream'].summary}; runs until Ctrl-C`)
    .argument('[topics...]', 'topic filters to watch (default: none, with --stats only stats)')
    .option('--stats', 'also print broker stats once a second')
    .option('--preview-bytes <n>', 'payload bytes shown per message (≤ 4096)', (text) => Number(text))
    .option('--count <n>', 'stop after this many message events', (text) => Number(text))
    .action(async (topics: string[], _options: unknown, self: Command) => {
      await run(self, async ({ client, options, json }) => {
        const input = {
          ...(topics.length > 0 && { topics }),
          ...(options.stats === true && { stats: true }),
          ...(options.previewBytes !== undefined && { previewBytes: options.previewBytes as number }),
        };
        parseInput('events.stream', input);
        const print = printer(options, json, io);
        return follow(print.attach(client.subscribe('events.stream', input, print)));
      });
    });

  topicsGroup
    .command('stream')
    .description(contract['topics.stream'].summary)
    .argument('<filter>', 'topic filter')
    .option('--preview-bytes <n>', 'payload bytes shown per message (≤ 4096)', (text) => Number(text))
    .option('--count <n>', 'stop after this many message events', (text) => Number(text))
    .action(async (filter: string, _options: unknown, self: Command) => {
      await run(self, async ({ client, options, json }) => {
        const input = {
          filter,
          ...(options.previewBytes !== undefined && { previewBytes: options.previewBytes as number }),
        };
        parseInput('topics.stream', input);
        const print = printer(options, json, io);
        return follow(print.attach(client.subscribe('topics.stream', input, print)));
      });
    });
}

/** Prints live events; closes the subscription after --count message events. */
function printer(options: Record<string, unknown>, json: boolean, io: Output) {
  const limit = options.count as number | undefined;
  let seen = 0;
  let subscription: EventSubscription | undefined;
  const print = (event: BrokerEvent) => {
    if (json) io.out(`${JSON.stringify(event)}\n`);
    else if (event.type === 'message')
      io.out(`${time(event.timestamp)}  ${event.topic}  ${preview(event as unknown as WireMessage, 60)}\n`);
    else if (event.type === 'stats') io.out(`stats  ${rates(event.stats.rates)}\n`);
    else if (event.type === 'topics') io.out(`topics  ${event.topics.length} changed\n`);
    else io.err(`(${event.dropped} event(s) dropped: reading too slowly)\n`);
    if (event.type === 'message' && limit !== undefined && ++seen >= limit) subscription?.close();
  };
  return Object.assign(print, { attach: (s: EventSubscription) => (subscription = s) });
}

/** Runs a subscription until it ends or Ctrl-C. */
async function follow(subscription: EventSubscription): Promise<string> {
  const stop = () => subscription.close();
  process.once('SIGINT', stop);
  try {
    await subscription.ready;
    await subscription.closed;
  } finally {
    process.off('SIGINT', stop);
  }
  return '';
}
