/**
 * `sluice demo list|run|status|stop|reset`: demo and training scenarios (docs/demo.md); a run
 * shows its steps with their state, then the checks and the outcome.
 */
import type { OperationOutput, UnaryOperationName } from '../api/contract.ts';
import { command, type ClientCommand, type Invocation } from './kit.ts';

/** A demo run: its steps with their state, then the checks and the outcome. */
function showDemo(d: OperationOutput<'demo.status'>): string {
  if (d.scenario === null) return 'No demo has run since the broker started';
  const mark = { pending: ' ', running: '>', done: '✓', failed: '✗', skipped: '-' } as const;
  return [
    `${d.title} (${d.scenario}) — ${d.state.toUpperCase()} · plant clock ${d.plantClock ?? '-'} · speed ×${d.speed}`,
    ...(d.runAs?.user ? [`actors log in as user ${d.runAs.user}, role ${d.runAs.role} (this scenario only)`] : []),
    ...d.steps.map(
      (step, i) =>
        `${mark[step.state]} ${i + 1}. ${step.narration}` +
        (step.detail !== null ? `\n     ${step.detail}` : '') +
        (step.progress ? ` [${step.progress.done}/${step.progress.total}]` : ''),
    ),
    ...(d.checks.length > 0 ? ['', 'Checks:'] : []),
    ...d.checks.map((c) => `  ${c.pass ? 'PASS' : 'FAIL'}  ${c.label}: expected ${c.expected}; got ${c.actual}`),
    ...(d.error !== null ? [`error: ${d.error}`] : []),
  ].join('\n');
}

/** Polls the demo run until it is no longer running (at most 2 Hz), showing the step on a terminal. */
async function waitForDemo(status: OperationOutput<'demo.status'>, run: Invocation) {
  let current = status;
  while (current.state === 'running') {
    if (process.stderr.isTTY) {
      const index = current.steps.findIndex((step) => step.state === 'running');
      process.stderr.write(`\rstep ${index + 1}/${current.steps.length} · plant clock ${current.plantClock ?? '-'}   `);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await run.client.call('demo.status', {});
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return current;
}

/** `demo list|run|status|stop|reset`. */
export const demoCommands: ReadonlyArray<ClientCommand<UnaryOperationName>> = [
  command({
    words: ['demo', 'list'],
    op: 'demo.list',
    human: (out) =>
      out.scenarios
        .map((d) =>
          [
            `${d.name} — ${d.title}`,
            `  ${d.summary}`,
            `  systems: ${d.actors.map((a) => `${a.label} (${a.protocol})`).join(', ')}`,
            ...d.steps.map((step, i) => `  ${i + 1}. ${step.narration}`),
          ].join('\n'),
        )
        .join('\n\n'),
  }),
  command({
    words: ['demo', 'run'],
    op: 'demo.start',
    args: ['<name>'],
    extra: (cmd) => cmd.option('--wait', 'follow the run until it ends, then show its checks'),
    human: showDemo,
    follow: (out, run) => (run.options.wait === true ? waitForDemo(out, run) : Promise.resolve(out)),
  }),
  command({ words: ['demo', 'status'], op: 'demo.status', human: showDemo }),
  command({ words: ['demo', 'stop'], op: 'demo.stop', human: showDemo }),
  command({
    words: ['demo', 'reset'],
    op: 'demo.reset',
    args: ['<name>'],
    human: (out) =>
      `Reset ${out.name}: deleted ${out.deletedQueues.length} queue(s)${out.deletedQueues.length > 0 ? ` (${out.deletedQueues.join(', ')})` : ''}, purged ${out.purgedDead} dead message(s)`,
  }),
];
