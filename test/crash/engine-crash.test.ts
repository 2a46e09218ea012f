// kill -9 durability (DESIGN.md: durability contract; STYLE.md §13). A child process runs the engine
// with concurrent publishers and consumers; the parent SIGKILLs it at a random moment, restarts it
// on the same directory, and after the last round checks what the child had been told was durable.
// Reproduce a failure with SLUICE_CRASH_SEED=<seed printed in the diagnostics>.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DeadMessage } from '../../core/engine/dmq.ts';
import { Engine, type QueuedMessage } from '../../core/engine/engine.ts';
import { stepCode } from '../../core/engine/journey.ts';
import { tempDir, testEngineOptions } from '../helpers/engine.ts';
import { crashQueue, crashQueueConfig, mulberry32, payloadFor } from './crash-plan.ts';

const rounds = Number(process.env['SLUICE_CRASH_ROUNDS'] ?? 20);
const seed = Number(process.env['SLUICE_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const childScript = fileURLToPath(new URL('./child-broker.ts', import.meta.url));
/** A child that never gets going (stuck open, crash on start) fails the test instead of hanging it. */
const childStartTimeoutMs = 20_000;

/** Everything the children printed, across all rounds, in print order. */
interface Observations {
  /** Log id → sequence label, for every publish the child saw resolve. */
  readonly acked: Map<string, string>;
  /** Ids whose ack was attempted (the ack may have committed just before the kill). */
  readonly ackAttempted: Set<string>;
  /** Ids whose ack resolved: durable, must be gone from the queue. */
  readonly consumed: Set<string>;
  /** Id → every delivery count printed for it, in order. */
  readonly deliveryCounts: Map<string, number[]>;
  /** Protocol violations seen while reading (a consumed message delivered again, a child error). */
  readonly violations: string[];
}

function observe(obs: Observations, line: string): void {
  const [kind, a, b] = line.split(' ');
  switch (kind) {
    case 'acked': {
      const previous = obs.acked.get(b!);
      if (previous !== undefined) obs.violations.push(`log id ${b} acknowledged twice: ${previous} and ${a}`);
      obs.acked.set(b!, a!);
      break;
    }
    case 'delivered': {
      if (obs.consumed.has(a!)) obs.violations.push(`message ${a} delivered again after its ack committed`);
      const counts = obs.deliveryCounts.get(a!) ?? [];
      counts.push(Number(b));
      obs.deliveryCounts.set(a!, counts);
      break;
    }
    case 'acking':
      obs.ackAttempted.add(a!);
      break;
    case 'consumed':
      obs.consumed.add(a!);
      break;
    case 'producing':
      break;
    default:
      obs.violations.push(`child said: ${line}`);
  }
}

/** Runs one child until it is killed `killAfterMs` after it starts producing. */
function runRound(
  dir: string,
  round: number,
  killAfterMs: number,
  slowReader: boolean,
  obs: Observations,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, String(seed), String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let pending = '';
    let killTimer: NodeJS.Timeout | undefined;
    const startGuard = setTimeout(() => child.kill('SIGKILL'), childStartTimeoutMs);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      // A line without its newline is still being written; keep it for the next chunk.
      pending = lines.pop()!;
      for (const line of lines) {
        if (line === 'producing' && killTimer === undefined) {
          clearTimeout(startGuard);
          // The deliberate random delay: the kill lands anywhere in publish, commit, deliver or ack.
          killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          // A loaded machine reads the child's reports late: in some rounds, stop reading until
          // the kill, so a report the child held back instead of writing would be lost and caught.
          if (slowReader) {
            child.stdout.pause();
            setTimeout(() => child.stdout.resume(), killAfterMs + 20);
          }
        }
        observe(obs, line);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(startGuard);
      clearTimeout(killTimer);
      if (killTimer === undefined)
        reject(new Error(`seed ${seed} round ${round}: child never started producing\n${stderr}`));
      else if (signal !== 'SIGKILL')
        reject(new Error(`seed ${seed} round ${round}: child exited by itself (code ${code})\n${stderr}`));
      else resolve();
    });
  });
}

async function browseAll(engine: Engine): Promise<QueuedMessage[]> {
  const all: QueuedMessage[] = [];
  for (;;) {
    const page = engine.browseQueue(crashQueue, { afterEntryId: all.at(-1)?.entryId ?? 0, limit: 1000 });
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

function deadAll(engine: Engine): DeadMessage[] {
  const all: DeadMessage[] = [];
  for (;;) {
    const last = all.at(-1)?.id;
    const page = engine.deadMessages.list({ queue: crashQueue }, { limit: 1000, ...(last && { afterId: last }) });
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

test(
  `every acknowledged message survives ${rounds} kill -9 rounds exactly once`,
  { timeout: Math.max(120_000, rounds * 5_000) },
  async (t) => {
    t.diagnostic(`seed ${seed} (rerun with SLUICE_CRASH_SEED=${seed})`);
    const { dir, cleanup } = tempDir('sluice-crash-');
    const random = mulberry32(seed);
    const obs: Observations = {
      acked: new Map(),
      ackAttempted: new Set(),
      consumed: new Set(),
      deliveryCounts: new Map(),
      violations: [],
    };
    try {
      for (let round = 0; round < rounds; round++)
        await runRound(dir, round, 50 + Math.floor(random() * 350), random() < 0.3, obs);

      const engine = await Engine.open(testEngineOptions(dir));
      try {
        const why = `(seed ${seed})`;
        assert.deepEqual(obs.violations, [], `children reported violations ${why}`);
        assert.equal(engine.store.integrityCheck(), 'ok', `PRAGMA integrity_check ${why}`);
        assert.ok(obs.acked.size > 0 && obs.consumed.size > 0, `the children published and consumed ${why}`);

        const entries = await browseAll(engine);
        const dead = deadAll(engine);
        const inQueue = new Map<string, QueuedMessage>();
        for (const entry of entries) {
          assert.ok(!inQueue.has(entry.message.id), `message ${entry.message.id} is in the queue twice ${why}`);
          inQueue.set(entry.message.id, entry);
          // After a restart nothing is in flight: the open turned every in-flight entry back to ready.
          assert.equal(entry.state, 'ready', `entry ${entry.entryId} is ready after the restart ${why}`);
        }
        const inDmq = new Map<string, DeadMessage>();
        for (const message of dead) {
          assert.ok(!inDmq.has(message.message.id), `message ${message.message.id} is dead twice ${why}`);
          inDmq.set(message.message.id, message);
          assert.equal(message.reason, 'max-redelivery', `only failures kill messages here ${why}`);
          assert.equal(message.deliveryCount, (crashQueueConfig.maxRedelivery ?? 0) + 1, `dead count ${why}`);
        }

        for (const [id, seq] of obs.acked) {
          const queued = inQueue.get(id);
          const died = inDmq.get(id);
          const copies = (queued ? 1 : 0) + (died ? 1 : 0);
          assert.ok(copies <= 1, `acknowledged message ${id} (${seq}) exists ${copies} times ${why}`);
          if (obs.consumed.has(id)) assert.equal(copies, 0, `consumed message ${id} (${seq}) is still held ${why}`);
          // Missing is allowed only when its ack was at least attempted (it may have committed just before the kill).
          else if (copies === 0)
            assert.ok(obs.ackAttempted.has(id), `acknowledged message ${id} (${seq}) was lost ${why}`);
          const stored = queued?.message ?? died?.message;
          if (stored) {
            assert.equal(stored.payload.toString(), payloadFor(seq), `payload of ${id} is intact ${why}`);
            assert.equal(stored.headers['seq'], seq, `headers of ${id} are intact ${why}`);
          }
        }

        // DESIGN.md: delivery counts are persisted before delivery and kept across restarts.
        for (const [id, counts] of obs.deliveryCounts) {
          for (let i = 1; i < counts.length; i++)
            assert.ok(counts[i]! > counts[i - 1]!, `delivery counts of ${id} only grow: ${counts.join(',')} ${why}`);
          const stored = inQueue.get(id)?.deliveryCount ?? inDmq.get(id)?.deliveryCount;
          if (stored !== undefined)
            assert.ok(stored >= counts.at(-1)!, `stored count ${stored} of ${id} < printed ${counts.at(-1)} ${why}`);
        }
        assert.ok(
          [...obs.deliveryCounts.values()].some((counts) => counts.length > 1),
          `some message was redelivered, so counts were exercised ${why}`,
        );

        // Counters are committed with the changes they count, so they balance exactly.
        const queue = engine.getQueue(crashQueue);
        assert.equal(queue.depth, entries.length, `queue depth matches its entries ${why}`);
        const { lastId } = engine.store.logBounds();
        assert.equal(queue.counters.enqueued, engine.store.countLog(1, lastId), `one entry per logged message ${why}`);
        assert.equal(
          queue.counters.enqueued,
          queue.depth + queue.counters.acked + queue.counters.deadLettered,
          `enqueued = held + acked + dead ${why}`,
        );
        assert.equal(queue.counters.deadLettered, dead.length, `dead-lettered counter matches the DMQ ${why}`);
        assert.ok(queue.counters.acked >= obs.consumed.size, `every resolved ack is counted ${why}`);

        // docs/journey.md: journey steps ride the commit of the change they record, so they balance
        // the counters exactly, and every resolved ack and every printed delivery has its step.
        const steps = new Map(
          (
            engine.store.database
              .prepare('SELECT kind, count(*) AS n FROM journey_events GROUP BY kind')
              .all() as Array<{
              kind: number;
              n: number;
            }>
          ).map((row) => [row.kind, row.n]),
        );
        assert.equal(steps.get(stepCode.acked) ?? 0, queue.counters.acked, `one acked step per ack ${why}`);
        assert.equal(
          steps.get(stepCode['dead-lettered']) ?? 0,
          queue.counters.deadLettered,
          `one dead-lettered step per dead-letter ${why}`,
        );
        assert.equal(
          steps.get(stepCode.delivered) ?? 0,
          queue.counters.delivered,
          `one delivered step per delivery ${why}`,
        );
        for (const id of obs.consumed) {
          const kinds = engine.journeyOf(id).steps.map((step) => step.kind);
          assert.equal(
            kinds.at(-1),
            'acked',
            `the journey of consumed message ${id} ends acked: ${kinds.join(',')} ${why}`,
          );
        }
        for (const [id, counts] of obs.deliveryCounts) {
          const delivered = engine.journeyOf(id).steps.filter((step) => step.kind === 'delivered').length;
          assert.ok(
            delivered >= counts.length,
            `${id}: ${delivered} delivered steps < ${counts.length} printed ${why}`,
          );
        }
        t.diagnostic(
          `acknowledged ${obs.acked.size}, consumed ${obs.consumed.size}, queued ${entries.length}, dead ${dead.length}`,
        );
      } finally {
        await engine.close();
      }
    } finally {
      cleanup();
    }
  },
);
