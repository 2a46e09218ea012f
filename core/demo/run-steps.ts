/**
 * The steps of a scenario run (docs/demo.md): each `do` of a scenario file as the plant's
 * systems and the operator would do it, through real protocol clients (publish, consume,
 * subscribe, reconnect, push endpoints) or API operations (replay, redeliver, checks).
 */
import { via } from './actor-pool.ts';
import type { MqttActor } from './actors.ts';
import { backlogFrom, evaluateCheck } from './checks.ts';
import { PushEndpoint } from './push-endpoint.ts';
import type { RunContext, StepStatus } from './run-context.ts';
import { fillPayload, formatPlant, missingField, parseJson, sleep } from './run-helpers.ts';
import { clientIdOf } from './run-state.ts';
import type { ScenarioAction } from './scenario-schema.ts';
import { topicMatches } from '../schema/topic.ts';

/** How long a reconnecting subscriber waits for its retained values before the checks look. */
const retainedWaitMs = 5000;

/** Does one step of the run; throws when it fails (runner.ts fails the run). */
export async function performStep(
  run: RunContext,
  action: ScenarioAction,
  step: StepStatus,
  index: number,
): Promise<void> {
  switch (action.do) {
    case 'publish':
      return publish(run, action, step);
    case 'consume':
      return consume(run, action, step);
    case 'subscribe': {
      const actor = run.actors.mqtt(action.actor);
      await actor.connect(action.session === 'persistent');
      await actor.subscribe(action.filters.map((filter) => run.expand(filter)));
      run.subscriptions.set(action.actor, action.filters);
      step.detail = `${actor.clientId} subscribed to ${action.filters.map((f) => run.expand(f)).join(', ')} (${action.session} session)`;
      return;
    }
    case 'disconnect': {
      await run.actors.mqtt(action.actor).close();
      const processed = run.processedBy(action.actor);
      processed.awaySince = new Map([...run.published].map(([id, sent]) => [id, sent.seq]));
      step.detail = `${clientIdOf(run.scenario.name, action.actor)} disconnected`;
      return;
    }
    case 'reconnect':
      return reconnect(run, action, step);
    case 'wait':
      await run.advance(action.plantMs);
      step.detail = action.plantMs > 0 ? `waited ${formatPlant(action.plantMs)} of plant time` : null;
      return;
    case 'mark':
      await sleep(5); // the mark falls strictly between the messages before and after it
      run.marks.set(action.as, Date.now());
      await sleep(5);
      step.detail = `marked ${action.as} at plant time ${run.status.plantClock}`;
      return;
    case 'replay':
      return replay(run, action, step);
    case 'redeliver': {
      const queue = run.queueName(action.queue);
      const result = await run.call('dmq.redeliver', { filter: { queue } });
      step.detail = `redelivered ${result.redelivered} dead message(s) to ${queue}`;
      if (result.failed.length > 0) throw new Error(`${result.failed.length} could not be redelivered`);
      return;
    }
    case 'bridge':
      return waitForBridge(run, action, step);
    case 'push':
    case 'endpoint':
      return pushStep(run, action, step);
    case 'expect': {
      for (const check of action.checks)
        run.status.checks.push({ step: index, ...(await evaluateCheck(check, run.checkSubject)) });
      const mine = run.status.checks.filter((check) => check.step === index);
      const failed = mine.filter((check) => !check.pass).length;
      step.detail = failed === 0 ? `${mine.length} check(s) passed` : `${failed} of ${mine.length} check(s) failed`;
      return;
    }
  }
}

async function waitForBridge(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'bridge' }>,
  step: StepStatus,
): Promise<void> {
  let bridge = await run.bridgeStatus(action.bridge);
  const initialBacklog = Math.max(1, bridge.backlog);
  const reached = () =>
    action.until === 'connected'
      ? bridge.connected
      : action.until === 'disconnected'
        ? !bridge.connected
        : bridge.connected && bridge.backlog === 0;
  for (;;) {
    step.detail = `${bridge.name} → ${bridge.upstream}: ${bridge.connected ? 'connected' : bridge.state}, backlog ${bridge.backlog}, forwarded ${bridge.forwarded - run.forwardedAtStart.get(action.bridge)!} in this run`;
    if (action.until === 'drained')
      step.progress = { done: Math.max(0, initialBacklog - bridge.backlog), total: initialBacklog };
    if (reached()) return;
    run.checkStopped();
    if (run.aborted) throw new Error(`bridge ${action.bridge} did not get ${action.until}`);
    await sleep(100);
    bridge = await run.bridgeStatus(action.bridge);
  }
}

/** `push`: serve the actor's endpoint, point a push consumer at it. `endpoint`: down, or up and catch up. */
async function pushStep(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'push' | 'endpoint' }>,
  step: StepStatus,
): Promise<void> {
  const actor = run.actor(action.actor);
  if (actor.protocol !== 'http-push') throw new Error(`${actor.label} is not an http-push endpoint`);
  let endpoint = run.pushEndpoints.get(actor.id);
  if (!endpoint) {
    const processed = run.processedBy(actor.id);
    endpoint = new PushEndpoint((body) => {
      const seq = parseJson(body)?.seq;
      if (typeof seq === 'number') processed.seqs.push(seq);
    });
    run.pushEndpoints.set(actor.id, endpoint);
  }
  if (action.do === 'push') {
    await endpoint.up();
    const queue = run.queueName(action.queue);
    run.pushQueues.set(actor.id, queue);
    // Short backoffs so the class sees the recovery within seconds of the endpoint's return.
    await run.call('push.put', {
      queue,
      name: run.pushName(actor.id),
      url: endpoint.url,
      retry: { initialDelayMs: 100, maxDelayMs: 1000 },
      timeoutMs: 5000,
    });
    step.detail = `push consumer ${run.pushName(actor.id)}: ${queue} → POST ${endpoint.url}`;
    return;
  }
  if (action.state === 'down') {
    await endpoint.down();
    step.detail = `${actor.label} is down: connections refused`;
    return;
  }
  await endpoint.up();
  const target = action.untilPublishedBy ? run.publishedBy(action.untilPublishedBy).seq : 0;
  const processed = run.processedBy(actor.id);
  while (processed.seqs.length < target) {
    run.checkStopped();
    step.progress = { done: processed.seqs.length, total: target };
    await sleep(50);
  }
  // The endpoint counts an order when its POST arrives; the push consumer acknowledges it once the
  // 2xx is back, a moment later. Wait (at most 5 s) for those acknowledgements, or a check of the
  // queue's depth right after this step could still see the last order in flight.
  const queue = run.pushQueues.get(actor.id);
  for (const until = Date.now() + 5000; target > 0 && queue !== undefined && Date.now() < until;) {
    run.checkStopped();
    if ((await run.call('queues.get', { name: queue })).depth === 0) break;
    await sleep(50);
  }
  step.progress = target > 0 ? { done: processed.seqs.length, total: target } : null;
  step.detail = `${actor.label} is back: ${processed.seqs.length} booked (${endpoint.requests} requests)`;
}

async function publish(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'publish' }>,
  step: StepStatus,
): Promise<void> {
  const sent = run.publishedBy(action.actor);
  const actor = run.actor(action.actor);
  const send = await run.actors.sender(actor);
  const intervalMs = action.everyPlantMs / run.speed;
  const startedAt = Date.now();
  step.progress = { done: 0, total: action.count };
  for (let i = 0; i < action.count; i++) {
    run.checkStopped();
    const seq = ++sent.seq;
    const tag = action.tags?.[i % action.tags.length];
    const topic = run.expand(action.topic, tag);
    const payload = JSON.stringify(fillPayload(action.payload, run.tokens(seq)));
    await send(topic, payload, action.retain);
    sent.topics.add(topic);
    if (action.retain) sent.retained.set(topic, payload);
    step.progress = { done: i + 1, total: action.count };
    step.detail = `${actor.label} → ${topic} (${via(actor)})`;
    run.plantMs += action.everyPlantMs; // each message stands for one interval of plant time
    run.updateClock();
    if (i < action.count - 1) {
      const due = startedAt + (i + 1) * intervalMs;
      if (due - Date.now() >= 1) await sleep(due - Date.now());
    }
  }
}

async function consume(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'consume' }>,
  step: StepStatus,
): Promise<void> {
  const actor = run.actor(action.actor);
  const inbox = run.actors.inbox(actor, async (queue) => {
    for (;;) {
      const info = await run.call('queues.get', { name: queue });
      if (info.inFlight === 0 || run.stopped || run.aborted) return;
      await sleep(20);
    }
  });
  const queue = run.queueName(action.queue);
  const processed = run.processedBy(action.actor);
  let settled = 0;
  let attempts = 0;
  const target = action.count ?? (action.untilPublishedBy ? run.publishedBy(action.untilPublishedBy).seq : undefined);
  const done = async () => {
    if (target !== undefined) return settled >= target;
    const dead = await run.call('dmq.list', { queue, limit: 1000 });
    step.detail = `${attempts} delivery attempt(s) failed; ${dead.deadMessages.length} in the DMQ`;
    return dead.deadMessages.length >= action.untilDead!;
  };
  step.progress = target !== undefined ? { done: 0, total: target } : null;
  try {
    while (!(await done())) {
      run.checkStopped();
      const messages = await inbox.receive(queue, action.mode === 'crash' ? 1 : 20, action.mode === 'crash');
      for (const message of messages) {
        const body = parseJson(message.payload);
        const ofThisRun = body?.run === run.runId;
        if (action.mode === 'crash') {
          attempts++;
          message.crash(); // never processed: the attempt fails (count kept)
          continue;
        }
        const missing = action.mode === 'validate' ? missingField(body, action.require) : undefined;
        if (missing !== undefined) {
          await message.reject(
            `schema-invalid: required field "${missing}" missing (payload has ${Object.keys(body ?? {}).join(', ') || 'no fields'})`,
          );
          processed.rejected++;
        } else {
          await message.ack();
          if (ofThisRun && typeof body.seq === 'number') processed.seqs.push(body.seq);
        }
        if (ofThisRun) settled++;
      }
      if (target !== undefined) {
        step.progress = { done: Math.min(settled, target), total: target };
        step.detail = `${actor.label} ← ${queue} (${via(actor)}): ${processed.seqs.length} processed, ${processed.rejected} rejected`;
      }
    }
  } finally {
    await inbox.end(queue);
  }
}

async function reconnect(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'reconnect' }>,
  step: StepStatus,
): Promise<void> {
  const actor = run.actors.mqtt(action.actor);
  const processed = run.processedBy(action.actor);
  processed.awayPublished = new Map(
    [...run.published].map(([id, sent]) => [id, sent.seq - (processed.awaySince?.get(id) ?? 0)]),
  );
  const sessionPresent = await actor.connect(true);
  // A SCADA on cold start subscribes again: the broker answers with the retained last values.
  const filters = run.subscriptions.get(action.actor) ?? [];
  await actor.subscribe(filters.map((filter) => run.expand(filter)));
  step.detail = `${actor.clientId} reconnected, session present: ${sessionPresent}`;
  if (action.expectBacklogOf === undefined) return;
  const publisher = run.publishedBy(action.expectBacklogOf);
  const expected = processed.awayPublished.get(action.expectBacklogOf) ?? 0;
  step.progress = { done: 0, total: expected };
  for (;;) {
    run.checkStopped();
    const backlog = backlogFrom(actor, publisher);
    step.progress = { done: Math.min(backlog, expected), total: expected };
    step.detail = `${actor.clientId} reconnected (session present: ${sessionPresent}): ${backlog} of ${expected} queued message(s) delivered`;
    if (backlog >= expected) break;
    await sleep(20);
  }
  await retainedArrived(
    run,
    actor,
    filters.map((filter) => run.expand(filter)),
  );
}

/**
 * Retained values arrive after the SUBACK: waits until the subscriber holds one for every
 * retained topic of this run its filters match, briefly (the `retained` check judges what came).
 * A fixed pause lost stragglers on a busy machine.
 */
async function retainedArrived(run: RunContext, actor: MqttActor, filters: readonly string[]): Promise<void> {
  const wanted = new Set(
    [...run.published.values()]
      .flatMap((sent) => [...sent.retained.keys()])
      .filter((topic) => filters.some((filter) => topicMatches(filter, topic))),
  );
  const until = Date.now() + retainedWaitMs;
  while (Date.now() < until) {
    const seen = new Set(actor.received.filter((m) => m.retained).map((m) => m.topic));
    if ([...wanted].every((topic) => seen.has(topic))) return;
    run.checkStopped();
    await sleep(20);
  }
}

async function replay(
  run: RunContext,
  action: Extract<ScenarioAction, { do: 'replay' }>,
  step: StepStatus,
): Promise<void> {
  const queue = run.queueName(action.queue);
  const start =
    action.from === 'beginning'
      ? { kind: 'beginning' as const }
      : { kind: 'timestamp' as const, at: run.marks.get(action.from.mark)! };
  let replay = await run.call('replay.start', {
    target: { queue, create: {} },
    start,
    topicFilter: run.expand(action.topicFilter),
  });
  while (replay.state === 'running') {
    run.checkStopped();
    step.progress = { done: replay.scanned, total: replay.total };
    step.detail = `replay ${replay.id} → ${queue}: ${replay.replayed} replayed`;
    await sleep(50);
    replay = await run.call('replay.get', { id: replay.id });
  }
  step.progress = { done: replay.total, total: replay.total };
  step.detail = `replay ${replay.id} → ${queue}: ${replay.replayed} message(s) replayed (${replay.state})`;
  if (replay.state !== 'completed') throw new Error(`replay ${replay.state}: ${replay.error ?? ''}`);
}
