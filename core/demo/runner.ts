/**
 * The scenario runner (docs/demo.md): drives a scenario's simulated plant systems as real
 * protocol clients against the running broker, and its management steps (replay, redeliver,
 * checks) through the API service — the same operations the UI and the CLI use.
 *
 * A run works only in its scenario's namespace: queues `demo/<scenario>/…`, topics
 * `demo/<scenario>/…`, MQTT client ids `demo-<scenario>-<actor>` (session queues
 * `mqtt/demo-<scenario>-<actor>`). Starting resets that namespace first; nothing else is touched.
 * The actors log in as the run's `demo` user (identity.ts), whose role grants exactly the
 * topics and queues the scenario's steps use; the management steps run as the host.
 */
import { randomBytes } from 'node:crypto';
import type { DemoStatus } from '../api/contract.ts';
import { ActorPool, via } from './actor-pool.ts';
import type { ActorCredentials, DemoEndpoints, MqttActor } from './actors.ts';
import { topicMatches } from '../schema/topic.ts';
import { backlogFrom, evaluateCheck, type CheckSubject } from './checks.ts';
import { anonymousRunAs, type DemoRunAs } from './identity.ts';
import { PushEndpoint } from './push-endpoint.ts';
import { fillPayload, formatPlant, missingField, parseJson, sleep, withTimeout } from './run-helpers.ts';
import {
  clientIdOf,
  expandTemplate,
  namespaceOf,
  type BridgeView,
  type Processed,
  type Published,
  type ServiceCall,
} from './run-state.ts';
import type { Scenario, ScenarioAction, ScenarioActor } from './scenario-schema.ts';

export { clientIdOf, namespaceOf, type ServiceCall } from './run-state.ts';

/** How long one step may take in real time before it fails (a stuck consumer must not hang a class). */
const stepTimeoutMs = 30_000;
/** How long a reconnecting subscriber waits for its retained values before the checks look. */
const retainedWaitMs = 5000;

type StepStatus = DemoStatus['steps'][number];

/** Who the actors are: the run's `demo` user, or anonymous on a broker without a security store. */
export interface RunIdentity {
  /** Undefined: connect without credentials (the broker has no security store). */
  readonly credentials: ActorCredentials | undefined;
  /** What the Demo view shows. */
  readonly runAs: DemoRunAs;
}

/** Thrown when a run is stopped. */
class Stopped extends Error {}

/**
 * One run of one scenario. Its state is plain data, so a test can run some steps, restart the
 * broker, point the run at the new broker (`retarget`) and run the rest.
 */
export class ScenarioRun {
  readonly runId = randomBytes(4).toString('hex');
  readonly namespace: string;
  readonly status: DemoStatus;
  private readonly published = new Map<string, Published>();
  private readonly processed = new Map<string, Processed>();
  private readonly marks = new Map<string, number>();
  /** The simulated MQTT, HTTP and AMQP clients. */
  private readonly actors: ActorPool;
  /** `http-push` actors: endpoints the broker's push consumers call. */
  private readonly pushEndpoints = new Map<string, PushEndpoint>();
  private plantMs = 0;
  private stopped = false;
  /** Set when a step timed out, so its loop ends too. */
  private aborted = false;

  constructor(
    readonly scenario: Scenario,
    private call: ServiceCall,
    endpoints: DemoEndpoints,
    readonly speed: number = scenario.defaultSpeed,
    /** Who the actors log in as (default: no credentials, for a broker without a security store). */
    private readonly identity: RunIdentity = { credentials: undefined, runAs: anonymousRunAs(scenario) },
  ) {
    this.namespace = namespaceOf(scenario.name);
    this.actors = new ActorPool(scenario, endpoints, identity.credentials);
    this.status = {
      scenario: scenario.name,
      title: scenario.title,
      state: 'running',
      runId: this.runId,
      speed,
      startedAt: Date.now(),
      finishedAt: null,
      plantClock: scenario.plantClockStart,
      steps: scenario.steps.map(({ narration, action }) => ({
        narration,
        kind: action.do,
        state: 'pending',
        detail: null,
        progress: null,
      })),
      checks: [],
      error: null,
      runAs: structuredClone(identity.runAs),
    };
  }

  /** Points the run at a (restarted) broker: actors reconnect to the new endpoints. */
  retarget(call: ServiceCall, endpoints: DemoEndpoints): void {
    this.call = call;
    this.actors.retarget(endpoints);
  }

  /** Creates the scenario's queues (after a reset). */
  async setUp(): Promise<void> {
    for (const queue of this.scenario.queues)
      await this.call('queues.create', {
        name: this.queueName(queue.name),
        subscriptions: queue.subscriptions.map((filter) => this.expand(filter)),
        ...(queue.maxRedelivery !== undefined && { maxRedelivery: queue.maxRedelivery }),
      });
  }

  /** Runs steps `from` (inclusive) to `to` (exclusive); a failed step fails the run and skips the rest. */
  async runSteps(from = 0, to = this.scenario.steps.length): Promise<void> {
    for (let index = from; index < to; index++) {
      const step = this.status.steps[index]!;
      if (this.status.state !== 'running') {
        step.state = 'skipped';
        continue;
      }
      step.state = 'running';
      try {
        const action = this.scenario.steps[index]!.action;
        const timeoutMs = action.do === 'bridge' ? action.timeoutSeconds * 1000 : stepTimeoutMs;
        await withTimeout(this.perform(action, step, index), timeoutMs);
        step.state = 'done';
      } catch (error) {
        if (error instanceof Stopped || this.stopped) {
          step.state = 'skipped';
          this.status.state = 'stopped';
        } else {
          this.aborted = true;
          step.state = 'failed';
          step.detail = (error as Error).message;
          this.status.error = `Step ${index + 1}: ${(error as Error).message}`;
          this.status.state = 'failed';
        }
      }
    }
  }

  /** Ends the run: every actor disconnects; the outcome follows from the checks. */
  async finish(): Promise<void> {
    await this.closeActors();
    if (this.status.state === 'running')
      this.status.state = this.status.checks.every((check) => check.pass) ? 'passed' : 'failed';
    this.status.finishedAt = Date.now();
  }

  /** Stops at the next opportunity (between messages, polls or steps). */
  stop(): void {
    this.stopped = true;
  }

  /** Disconnects every simulated client (persistent sessions stay on the broker). */
  async closeActors(): Promise<void> {
    for (const [id, endpoint] of this.pushEndpoints) {
      await endpoint.down();
      await this.call('push.delete', { queue: this.pushQueues.get(id)!, name: this.pushName(id) }).catch(() => {});
    }
    this.pushEndpoints.clear();
    await this.actors.close();
  }

  // ── steps ──────────────────────────────────────────────────────────────────────────

  private async perform(action: ScenarioAction, step: StepStatus, index: number): Promise<void> {
    switch (action.do) {
      case 'publish':
        return this.publish(action, step);
      case 'consume':
        return this.consume(action, step);
      case 'subscribe': {
        const actor = this.actors.mqtt(action.actor);
        await actor.connect(action.session === 'persistent');
        await actor.subscribe(action.filters.map((filter) => this.expand(filter)));
        this.subscriptions.set(action.actor, action.filters);
        step.detail = `${actor.clientId} subscribed to ${action.filters.map((f) => this.expand(f)).join(', ')} (${action.session} session)`;
        return;
      }
      case 'disconnect': {
        await this.actors.mqtt(action.actor).close();
        const processed = this.processedBy(action.actor);
        processed.awaySince = new Map([...this.published].map(([id, sent]) => [id, sent.seq]));
        step.detail = `${clientIdOf(this.scenario.name, action.actor)} disconnected`;
        return;
      }
      case 'reconnect':
        return this.reconnect(action, step);
      case 'wait':
        await this.advance(action.plantMs);
        step.detail = action.plantMs > 0 ? `waited ${formatPlant(action.plantMs)} of plant time` : null;
        return;
      case 'mark':
        await sleep(5); // the mark falls strictly between the messages before and after it
        this.marks.set(action.as, Date.now());
        await sleep(5);
        step.detail = `marked ${action.as} at plant time ${this.status.plantClock}`;
        return;
      case 'replay':
        return this.replay(action, step);
      case 'redeliver': {
        const queue = this.queueName(action.queue);
        const result = await this.call('dmq.redeliver', { filter: { queue } });
        step.detail = `redelivered ${result.redelivered} dead message(s) to ${queue}`;
        if (result.failed.length > 0) throw new Error(`${result.failed.length} could not be redelivered`);
        return;
      }
      case 'bridge':
        return this.waitForBridge(action, step);
      case 'push':
      case 'endpoint':
        return this.pushStep(action, step);
      case 'expect': {
        for (const check of action.checks)
          this.status.checks.push({ step: index, ...(await evaluateCheck(check, this.checkSubject)) });
        const mine = this.status.checks.filter((check) => check.step === index);
        const failed = mine.filter((check) => !check.pass).length;
        step.detail = failed === 0 ? `${mine.length} check(s) passed` : `${failed} of ${mine.length} check(s) failed`;
        return;
      }
    }
  }

  private readonly subscriptions = new Map<string, readonly string[]>();
  /** What the checks read (checks.ts); `call` follows a retarget. */
  private readonly checkSubject: CheckSubject = {
    call: (name, input) => this.call(name, input),
    actor: (id) => this.actor(id),
    publishedBy: (id) => this.publishedBy(id),
    processedBy: (id) => this.processedBy(id),
    mqtt: (id) => this.actors.mqtt(id),
    queueName: (local) => this.queueName(local),
    bridgeStatus: (name) => this.bridgeStatus(name),
    forwardedAtStart: (name) => this.forwardedAtStart.get(name)!,
  };
  /** Each bridge's `forwarded` counter when this run first looked at it. */
  private readonly forwardedAtStart = new Map<string, number>();

  /** A bridge's status from the API, its forwarded baseline noted on first sight. */
  private async bridgeStatus(name: string): Promise<BridgeView> {
    const { bridges } = await this.call('bridges.status', {});
    const bridge = bridges.find((candidate) => candidate.name === name);
    if (!bridge)
      throw new Error(
        `bridge "${name}" is not in the broker config (docs/demo.md says how to add it for this scenario)`,
      );
    if (!this.forwardedAtStart.has(name)) this.forwardedAtStart.set(name, bridge.forwarded);
    return bridge;
  }

  private async waitForBridge(action: Extract<ScenarioAction, { do: 'bridge' }>, step: StepStatus): Promise<void> {
    let bridge = await this.bridgeStatus(action.bridge);
    const initialBacklog = Math.max(1, bridge.backlog);
    const reached = () =>
      action.until === 'connected'
        ? bridge.connected
        : action.until === 'disconnected'
          ? !bridge.connected
          : bridge.connected && bridge.backlog === 0;
    for (;;) {
      step.detail = `${bridge.name} → ${bridge.upstream}: ${bridge.connected ? 'connected' : bridge.state}, backlog ${bridge.backlog}, forwarded ${bridge.forwarded - this.forwardedAtStart.get(action.bridge)!} in this run`;
      if (action.until === 'drained')
        step.progress = { done: Math.max(0, initialBacklog - bridge.backlog), total: initialBacklog };
      if (reached()) return;
      this.checkStopped();
      if (this.aborted) throw new Error(`bridge ${action.bridge} did not get ${action.until}`);
      await sleep(100);
      bridge = await this.bridgeStatus(action.bridge);
    }
  }

  private readonly pushQueues = new Map<string, string>();

  private pushName(actor: string): string {
    return clientIdOf(this.scenario.name, actor);
  }

  /** `push`: serve the actor's endpoint, point a push consumer at it. `endpoint`: down, or up and catch up. */
  private async pushStep(
    action: Extract<ScenarioAction, { do: 'push' | 'endpoint' }>,
    step: StepStatus,
  ): Promise<void> {
    const actor = this.actor(action.actor);
    if (actor.protocol !== 'http-push') throw new Error(`${actor.label} is not an http-push endpoint`);
    let endpoint = this.pushEndpoints.get(actor.id);
    if (!endpoint) {
      const processed = this.processedBy(actor.id);
      endpoint = new PushEndpoint((body) => {
        const seq = parseJson(body)?.seq;
        if (typeof seq === 'number') processed.seqs.push(seq);
      });
      this.pushEndpoints.set(actor.id, endpoint);
    }
    if (action.do === 'push') {
      await endpoint.up();
      const queue = this.queueName(action.queue);
      this.pushQueues.set(actor.id, queue);
      // Short backoffs so the class sees the recovery within seconds of the endpoint's return.
      await this.call('push.put', {
        queue,
        name: this.pushName(actor.id),
        url: endpoint.url,
        retry: { initialDelayMs: 100, maxDelayMs: 1000 },
        timeoutMs: 5000,
      });
      step.detail = `push consumer ${this.pushName(actor.id)}: ${queue} → POST ${endpoint.url}`;
      return;
    }
    if (action.state === 'down') {
      await endpoint.down();
      step.detail = `${actor.label} is down: connections refused`;
      return;
    }
    await endpoint.up();
    const target = action.untilPublishedBy ? this.publishedBy(action.untilPublishedBy).seq : 0;
    const processed = this.processedBy(actor.id);
    while (processed.seqs.length < target) {
      this.checkStopped();
      step.progress = { done: processed.seqs.length, total: target };
      await sleep(50);
    }
    step.progress = target > 0 ? { done: processed.seqs.length, total: target } : null;
    step.detail = `${actor.label} is back: ${processed.seqs.length} booked (${endpoint.requests} requests)`;
  }

  private async publish(action: Extract<ScenarioAction, { do: 'publish' }>, step: StepStatus): Promise<void> {
    const sent = this.publishedBy(action.actor);
    const actor = this.actor(action.actor);
    const send = await this.actors.sender(actor);
    const intervalMs = action.everyPlantMs / this.speed;
    const startedAt = Date.now();
    step.progress = { done: 0, total: action.count };
    for (let i = 0; i < action.count; i++) {
      this.checkStopped();
      const seq = ++sent.seq;
      const tag = action.tags?.[i % action.tags.length];
      const topic = this.expand(action.topic, tag);
      const payload = JSON.stringify(fillPayload(action.payload, this.tokens(seq)));
      await send(topic, payload, action.retain);
      sent.topics.add(topic);
      if (action.retain) sent.retained.set(topic, payload);
      step.progress = { done: i + 1, total: action.count };
      step.detail = `${actor.label} → ${topic} (${via(actor)})`;
      this.plantMs += action.everyPlantMs; // each message stands for one interval of plant time
      this.updateClock();
      if (i < action.count - 1) {
        const due = startedAt + (i + 1) * intervalMs;
        if (due - Date.now() >= 1) await sleep(due - Date.now());
      }
    }
  }

  private async consume(action: Extract<ScenarioAction, { do: 'consume' }>, step: StepStatus): Promise<void> {
    const actor = this.actor(action.actor);
    const inbox = this.actors.inbox(actor, async (queue) => {
      for (;;) {
        const info = await this.call('queues.get', { name: queue });
        if (info.inFlight === 0 || this.stopped || this.aborted) return;
        await sleep(20);
      }
    });
    const queue = this.queueName(action.queue);
    const processed = this.processedBy(action.actor);
    let settled = 0;
    let attempts = 0;
    const target =
      action.count ?? (action.untilPublishedBy ? this.publishedBy(action.untilPublishedBy).seq : undefined);
    const done = async () => {
      if (target !== undefined) return settled >= target;
      const dead = await this.call('dmq.list', { queue, limit: 1000 });
      step.detail = `${attempts} delivery attempt(s) failed; ${dead.deadMessages.length} in the DMQ`;
      return dead.deadMessages.length >= action.untilDead!;
    };
    step.progress = target !== undefined ? { done: 0, total: target } : null;
    try {
      while (!(await done())) {
        this.checkStopped();
        const messages = await inbox.receive(queue, action.mode === 'crash' ? 1 : 20, action.mode === 'crash');
        for (const message of messages) {
          const body = parseJson(message.payload);
          const ofThisRun = body?.run === this.runId;
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

  private async reconnect(action: Extract<ScenarioAction, { do: 'reconnect' }>, step: StepStatus): Promise<void> {
    const actor = this.actors.mqtt(action.actor);
    const processed = this.processedBy(action.actor);
    processed.awayPublished = new Map(
      [...this.published].map(([id, sent]) => [id, sent.seq - (processed.awaySince?.get(id) ?? 0)]),
    );
    const sessionPresent = await actor.connect(true);
    // A SCADA on cold start subscribes again: the broker answers with the retained last values.
    const filters = this.subscriptions.get(action.actor) ?? [];
    await actor.subscribe(filters.map((filter) => this.expand(filter)));
    step.detail = `${actor.clientId} reconnected, session present: ${sessionPresent}`;
    if (action.expectBacklogOf === undefined) return;
    const publisher = this.publishedBy(action.expectBacklogOf);
    const expected = processed.awayPublished.get(action.expectBacklogOf) ?? 0;
    step.progress = { done: 0, total: expected };
    for (;;) {
      this.checkStopped();
      const backlog = backlogFrom(actor, publisher);
      step.progress = { done: Math.min(backlog, expected), total: expected };
      step.detail = `${actor.clientId} reconnected (session present: ${sessionPresent}): ${backlog} of ${expected} queued message(s) delivered`;
      if (backlog >= expected) break;
      await sleep(20);
    }
    await this.retainedArrived(
      actor,
      filters.map((filter) => this.expand(filter)),
    );
  }

  /**
   * Retained values arrive after the SUBACK: waits until the subscriber holds one for every
   * retained topic of this run its filters match, briefly (the `retained` check judges what came).
   * A fixed pause lost stragglers on a busy machine.
   */
  private async retainedArrived(actor: MqttActor, filters: readonly string[]): Promise<void> {
    const wanted = new Set(
      [...this.published.values()]
        .flatMap((sent) => [...sent.retained.keys()])
        .filter((topic) => filters.some((filter) => topicMatches(filter, topic))),
    );
    const until = Date.now() + retainedWaitMs;
    while (Date.now() < until) {
      const seen = new Set(actor.received.filter((m) => m.retained).map((m) => m.topic));
      if ([...wanted].every((topic) => seen.has(topic))) return;
      this.checkStopped();
      await sleep(20);
    }
  }

  private async replay(action: Extract<ScenarioAction, { do: 'replay' }>, step: StepStatus): Promise<void> {
    const queue = this.queueName(action.queue);
    const start =
      action.from === 'beginning'
        ? { kind: 'beginning' as const }
        : { kind: 'timestamp' as const, at: this.marks.get(action.from.mark)! };
    let replay = await this.call('replay.start', {
      target: { queue, create: {} },
      start,
      topicFilter: this.expand(action.topicFilter),
    });
    while (replay.state === 'running') {
      this.checkStopped();
      step.progress = { done: replay.scanned, total: replay.total };
      step.detail = `replay ${replay.id} → ${queue}: ${replay.replayed} replayed`;
      await sleep(50);
      replay = await this.call('replay.get', { id: replay.id });
    }
    step.progress = { done: replay.total, total: replay.total };
    step.detail = `replay ${replay.id} → ${queue}: ${replay.replayed} message(s) replayed (${replay.state})`;
    if (replay.state !== 'completed') throw new Error(`replay ${replay.state}: ${replay.error ?? ''}`);
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────

  private actor(id: string): ScenarioActor {
    const actor = this.scenario.actors.find((a) => a.id === id);
    if (!actor) throw new Error(`unknown actor ${id}`);
    return actor;
  }

  private publishedBy(id: string): Published {
    let sent = this.published.get(id);
    if (!sent) this.published.set(id, (sent = { seq: 0, retained: new Map(), topics: new Set() }));
    return sent;
  }

  private processedBy(id: string): Processed {
    let processed = this.processed.get(id);
    if (!processed) this.processed.set(id, (processed = { seqs: [], rejected: 0 }));
    return processed;
  }

  private queueName(local: string): string {
    return `${this.namespace}/${local}`;
  }

  private expand(template: string, tag?: string): string {
    return expandTemplate(template, this.namespace, tag);
  }

  /** The payload template tokens of message `seq` (scenario-schema.ts: payloadTemplate). */
  private tokens(seq: number): Record<string, unknown> {
    return {
      '{{seq}}': seq,
      '{{run}}': this.runId,
      '{{plantTime}}': this.status.plantClock,
      '{{value}}': Math.round((20 + 5 * Math.sin(seq / 3) + (seq % 7) / 10) * 10) / 10,
    };
  }

  private async advance(plantMs: number): Promise<void> {
    const until = Date.now() + plantMs / this.speed;
    while (Date.now() < until) {
      this.checkStopped();
      await sleep(Math.min(100, until - Date.now()));
    }
    this.plantMs += plantMs;
    this.updateClock();
  }

  private updateClock(): void {
    const [hours, minutes] = this.scenario.plantClockStart.split(':').map(Number) as [number, number];
    const total = Math.floor((hours * 60 + minutes + this.plantMs / 60_000) % (24 * 60));
    this.status.plantClock = `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
  }

  private checkStopped(): void {
    if (this.stopped || this.aborted) throw new Stopped('stopped');
  }
}
