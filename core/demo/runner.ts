/**
 * The scenario runner (docs/demo.md): drives a scenario's simulated plant systems as real
 * protocol clients against the running broker, and its management steps (replay, redeliver,
 * checks) through the API service — the same operations the UI and the CLI use.
 *
 * A run works only in its scenario's namespace: queues `demo/<scenario>/…`, topics
 * `demo/<scenario>/…`, MQTT client ids `demo-<scenario>-<actor>` (session queues
 * `mqtt/demo-<scenario>-<actor>`). Starting resets that namespace first; nothing else is touched.
 */
import { randomBytes } from 'node:crypto';
import type { DemoStatus, OperationInput, OperationOutput, UnaryOperationName } from '../api/contract.ts';
import { AmqpActor, HttpActor, MqttActor, type DemoEndpoints } from './actors.ts';
import { PushEndpoint } from './push-endpoint.ts';
import type { Scenario, ScenarioAction, ScenarioActor, ScenarioCheck } from './scenario-schema.ts';

/** Runs an API operation as the broker's host (the service's own `call`). */
export type ServiceCall = <N extends UnaryOperationName>(
  name: N,
  input: OperationInput<N>,
) => Promise<OperationOutput<N>>;

/** How long one step may take in real time before it fails (a stuck consumer must not hang a class). */
const stepTimeoutMs = 30_000;

/** The namespace prefix of a scenario's topics and queues. */
export const namespaceOf = (scenario: string): string => `demo/${scenario}`;
/** MQTT client id of a scenario's actor (its persistent session queue is `mqtt/<clientId>`). */
export const clientIdOf = (scenario: string, actor: string): string => `demo-${scenario}-${actor}`;

type StepStatus = DemoStatus['steps'][number];

/** What a publisher has sent in this run. */
interface Published {
  seq: number;
  /** Last payload per retained topic. */
  readonly retained: Map<string, string>;
  /** Topics it published to. */
  readonly topics: Set<string>;
}

/** What a consumer or subscriber has processed in this run. */
interface Processed {
  /** `seq` of each acked message of this run, in processing order. */
  readonly seqs: number[];
  rejected: number;
  /** Publisher counts when a subscriber disconnected (for its backlog check). */
  awaySince?: Map<string, number>;
  /** Published per publisher while it was away. */
  awayPublished?: Map<string, number>;
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
  private readonly mqttActors = new Map<string, MqttActor>();
  private readonly httpActors = new Map<string, HttpActor>();
  private readonly amqpActors = new Map<string, AmqpActor>();
  /** `http-push` actors: endpoints the broker's push consumers call. */
  private readonly pushEndpoints = new Map<string, PushEndpoint>();
  private plantMs = 0;
  private stopped = false;
  /** Set when a step timed out, so its loop ends too. */
  private aborted = false;

  constructor(
    readonly scenario: Scenario,
    private call: ServiceCall,
    private endpoints: DemoEndpoints,
    readonly speed: number = scenario.defaultSpeed,
  ) {
    this.namespace = namespaceOf(scenario.name);
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
    };
  }

  /** Points the run at a (restarted) broker: actors reconnect to the new endpoints. */
  retarget(call: ServiceCall, endpoints: DemoEndpoints): void {
    this.call = call;
    this.endpoints = endpoints;
    this.httpActors.clear();
    for (const actor of this.amqpActors.values()) void actor.close();
    this.amqpActors.clear();
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
    await Promise.all([...this.mqttActors.values(), ...this.amqpActors.values()].map((actor) => actor.close()));
    this.mqttActors.clear();
    this.amqpActors.clear();
  }

  // ── steps ──────────────────────────────────────────────────────────────────────────

  private async perform(action: ScenarioAction, step: StepStatus, index: number): Promise<void> {
    switch (action.do) {
      case 'publish':
        return this.publish(action, step);
      case 'consume':
        return this.consume(action, step);
      case 'subscribe': {
        const actor = this.mqtt(action.actor);
        await actor.connect(action.session === 'persistent');
        await actor.subscribe(action.filters.map((filter) => this.expand(filter)));
        this.subscriptions.set(action.actor, action.filters);
        step.detail = `${actor.clientId} subscribed to ${action.filters.map((f) => this.expand(f)).join(', ')} (${action.session} session)`;
        return;
      }
      case 'disconnect': {
        await this.mqtt(action.actor).close();
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
        for (const check of action.checks) this.status.checks.push({ step: index, ...(await this.evaluate(check)) });
        const mine = this.status.checks.filter((check) => check.step === index);
        const failed = mine.filter((check) => !check.pass).length;
        step.detail = failed === 0 ? `${mine.length} check(s) passed` : `${failed} of ${mine.length} check(s) failed`;
        return;
      }
    }
  }

  private readonly subscriptions = new Map<string, readonly string[]>();
  /** Each bridge's `forwarded` counter when this run first looked at it. */
  private readonly forwardedAtStart = new Map<string, number>();

  /** A bridge's status from the API, its forwarded baseline noted on first sight. */
  private async bridgeStatus(name: string): Promise<OperationOutput<'bridges.status'>['bridges'][number]> {
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
    const send = await this.sender(actor);
    const intervalMs = action.everyPlantMs / this.speed;
    const startedAt = Date.now();
    step.progress = { done: 0, total: action.count };
    for (let i = 0; i < action.count; i++) {
      this.checkStopped();
      const seq = ++sent.seq;
      const tag = action.tags?.[i % action.tags.length];
      const topic = this.expand(action.topic, tag);
      const payload = JSON.stringify(this.fill(action.payload, seq));
      await send(topic, payload, action.retain);
      sent.topics.add(topic);
      if (action.retain) sent.retained.set(topic, payload);
      step.progress = { done: i + 1, total: action.count };
      step.detail = `${actor.label} → ${topic} (${this.via(actor)})`;
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
    const inbox = this.inbox(actor);
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
          step.detail = `${actor.label} ← ${queue} (${this.via(actor)}): ${processed.seqs.length} processed, ${processed.rejected} rejected`;
        }
      }
    } finally {
      await inbox.end(queue);
    }
  }

  /**
   * How a consumer actor takes messages from a queue on its own protocol. HTTP: pull receive
   * (a 100 ms visibility timeout stands for a consumer that dies holding the message) and
   * ack / reject, each answered after the commit. AMQP: a `queue://` receiver, settled
   * accepted / rejected (with the error as description) / modified{delivery-failed} for a crash;
   * at the end of the step the receiver detaches (what it held unsettled goes back to the queue)
   * and the step waits until the broker has applied every settlement (nothing in flight).
   */
  private inbox(actor: ScenarioActor): {
    receive(queue: string, max: number, crash: boolean): Promise<InboxMessage[]>;
    end(queue: string): Promise<void>;
  } {
    if (actor.protocol === 'amqp') {
      const client = this.amqp(actor.id);
      return {
        receive: async (queue, max) =>
          (await client.receive(queue, max)).map((message) => ({
            payload: message.payload,
            ack: async () => message.accept(),
            reject: async (error) => message.reject(error),
            crash: () => message.fail(),
          })),
        end: async (queue) => {
          await client.detach(queue);
          for (;;) {
            const info = await this.call('queues.get', { name: queue });
            if (info.inFlight === 0 || this.stopped || this.aborted) return;
            await sleep(20);
          }
        },
      };
    }
    const client = this.http(actor.id);
    return {
      receive: async (queue, max, crash) =>
        (await client.receive(queue, max, crash ? 100 : 30_000)).map(({ deliveryId, message }) => ({
          payload: message.payload,
          ack: () => client.ack(queue, deliveryId),
          reject: (error) => client.reject(queue, deliveryId, error),
          crash: () => undefined, // never settled: the visibility timeout fails the attempt
        })),
      end: async () => undefined,
    };
  }

  private async reconnect(action: Extract<ScenarioAction, { do: 'reconnect' }>, step: StepStatus): Promise<void> {
    const actor = this.mqtt(action.actor);
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
      const backlog = this.backlogFrom(actor, publisher);
      step.progress = { done: Math.min(backlog, expected), total: expected };
      step.detail = `${actor.clientId} reconnected (session present: ${sessionPresent}): ${backlog} of ${expected} queued message(s) delivered`;
      if (backlog >= expected) break;
      await sleep(20);
    }
    await sleep(100); // retained values arrive with the SUBACK; give stragglers a moment
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

  // ── checks ─────────────────────────────────────────────────────────────────────────

  private async evaluate(
    check: ScenarioCheck,
  ): Promise<{ label: string; pass: boolean; expected: string; actual: string }> {
    switch (check.check) {
      case 'received': {
        const label = this.actor(check.actor).label;
        const seqs = this.processedBy(check.actor).seqs;
        const inRange = check.fromSeq === undefined ? seqs : seqs.filter((seq) => seq >= check.fromSeq!);
        const expectedCount =
          check.count ??
          (check.equalsPublishedBy
            ? this.publishedBy(check.equalsPublishedBy).seq - (check.fromSeq ?? 1) + 1
            : inRange.length);
        const ordered = inRange.every((seq, i) => i === 0 || seq > inRange[i - 1]!);
        const before = check.fromSeq === undefined ? 0 : seqs.length - inRange.length;
        const parts = [`${inRange.length} processed`];
        if (check.inOrder) parts.push(ordered ? 'in order' : 'OUT OF ORDER');
        if (check.fromSeq !== undefined)
          parts.push(`first #${inRange[0] ?? '-'}, last #${inRange[inRange.length - 1] ?? '-'}`);
        if (check.nothingBefore) parts.push(`${before} from before #${check.fromSeq}`);
        return {
          label: `${label} processed every message${check.inOrder ? ', in order' : ''}${check.fromSeq !== undefined ? ` from #${check.fromSeq}` : ''}`,
          pass:
            inRange.length === expectedCount && (!check.inOrder || ordered) && (!check.nothingBefore || before === 0),
          expected: [
            `${expectedCount} processed`,
            ...(check.inOrder ? ['in order'] : []),
            ...(check.nothingBefore ? [`0 from before #${check.fromSeq}`] : []),
          ].join(', '),
          actual: parts.join(', '),
        };
      }
      case 'depth': {
        const queue = this.queueName(check.queue);
        const info = await this.call('queues.get', { name: queue });
        const expected = check.depth ?? this.publishedBy(check.equalsPublishedBy!).seq;
        return {
          label: expected === 0 ? `${queue} is empty` : `${queue} holds the backlog`,
          pass: info.depth === expected,
          expected: `depth ${expected}`,
          actual: `depth ${info.depth}`,
        };
      }
      case 'dead': {
        const queue = this.queueName(check.queue);
        const dead = (await this.call('dmq.list', { queue, limit: 1000 })).deadMessages;
        const bad = dead.filter(
          (d) =>
            (check.reason !== undefined && d.reason !== check.reason) ||
            (check.deliveryCount !== undefined && d.deliveryCount !== check.deliveryCount) ||
            (check.errorIncludes !== undefined && !(d.error ?? '').includes(check.errorIncludes)),
        );
        const first = dead[0];
        const expected = [
          `${check.count} dead`,
          ...(check.reason ? [`reason ${check.reason}`] : []),
          ...(check.deliveryCount !== undefined ? [`${check.deliveryCount} deliveries`] : []),
          ...(check.errorIncludes ? [`error “${check.errorIncludes}…”`] : []),
        ].join(', ');
        const actual = first
          ? `${dead.length} dead, reason ${first.reason}, ${first.deliveryCount} deliveries, error “${first.error ?? '-'}”`
          : '0 dead';
        return { label: `DMQ for ${queue}`, pass: dead.length === check.count && bad.length === 0, expected, actual };
      }
      case 'retained': {
        const subscriber = this.mqtt(check.actor);
        const sent = this.publishedBy(check.publisher).retained;
        const seen = new Map(subscriber.received.filter((m) => m.retained).map((m) => [m.topic, m.payload]));
        const restored = [...sent].filter(([topic, payload]) => seen.get(topic) === payload).length;
        return {
          label: `${this.actor(check.actor).label} got the last value of every tag (retained)`,
          pass: sent.size > 0 && restored === sent.size,
          expected: `${sent.size} last value(s)`,
          actual: `${restored} of ${sent.size} restored`,
        };
      }
      case 'backlog': {
        const subscriber = this.mqtt(check.actor);
        const expected = this.processedBy(check.actor).awayPublished?.get(check.equalsPublishedBy) ?? 0;
        const got = this.backlogFrom(subscriber, this.publishedBy(check.equalsPublishedBy));
        return {
          label: `${this.actor(check.actor).label} received what was sent while it was away`,
          pass: got === expected && expected > 0,
          expected: `${expected} queued message(s)`,
          actual: `${got} delivered on reconnect (session present: ${subscriber.sessionPresent})`,
        };
      }
      case 'bridge': {
        const bridge = await this.bridgeStatus(check.bridge);
        const forwarded = bridge.forwarded - this.forwardedAtStart.get(check.bridge)!;
        const published = check.forwardedPublishedBy ? this.publishedBy(check.forwardedPublishedBy).seq : undefined;
        const expected: string[] = [];
        let pass = true;
        if (check.backlogAtLeast !== undefined) {
          expected.push(`backlog ≥ ${check.backlogAtLeast}`);
          pass &&= bridge.backlog >= check.backlogAtLeast;
        }
        if (check.backlog !== undefined) {
          expected.push(`backlog ${check.backlog}`);
          pass &&= bridge.backlog === check.backlog;
        }
        if (published !== undefined) {
          expected.push(`≥ ${published} forwarded`);
          pass &&= forwarded >= published;
        }
        return {
          label: `Bridge ${bridge.name} to ${bridge.upstream}`,
          pass,
          expected: expected.join(', '),
          actual: `backlog ${bridge.backlog}, ${forwarded} forwarded in this run, ${bridge.connected ? 'connected' : bridge.state}`,
        };
      }
    }
  }

  /** Queued (not retained) messages a subscriber got since reconnecting, on the publisher's topics. */
  private backlogFrom(subscriber: MqttActor, publisher: Published): number {
    return subscriber.received.filter((m) => !m.retained && publisher.topics.has(m.topic)).length;
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────

  private actor(id: string): ScenarioActor {
    const actor = this.scenario.actors.find((a) => a.id === id);
    if (!actor) throw new Error(`unknown actor ${id}`);
    return actor;
  }

  private mqtt(id: string): MqttActor {
    let actor = this.mqttActors.get(id);
    if (!actor) {
      if (!this.endpoints.mqttUrl) throw new Error('the MQTT listener is not enabled; MQTT actors cannot run');
      actor = new MqttActor(this.endpoints.mqttUrl, clientIdOf(this.scenario.name, id));
      this.mqttActors.set(id, actor);
    }
    return actor;
  }

  private amqp(id: string): AmqpActor {
    let actor = this.amqpActors.get(id);
    if (!actor) {
      if (!this.endpoints.amqpUrl)
        throw new Error(
          `the AMQP listener is not enabled (amqp.enabled is off), so the AMQP actor "${id}" cannot run; enable it to run this scenario`,
        );
      actor = new AmqpActor(this.endpoints.amqpUrl, clientIdOf(this.scenario.name, id));
      this.amqpActors.set(id, actor);
    }
    return actor;
  }

  private http(id: string): HttpActor {
    let actor = this.httpActors.get(id);
    if (!actor) this.httpActors.set(id, (actor = new HttpActor(this.endpoints.httpUrl)));
    return actor;
  }

  /** The function an actor publishes with, on its own protocol. */
  private async sender(
    actor: ScenarioActor,
  ): Promise<(topic: string, payload: string, retain: boolean) => Promise<void>> {
    if (actor.protocol === 'mqtt') {
      const client = this.mqtt(actor.id);
      if (!client.isConnected) await client.connect(false);
      return (topic, payload, retain) => client.publish(topic, payload, retain);
    }
    if (actor.protocol === 'amqp') throw new Error(`${actor.label} is an AMQP consumer; it does not publish`);
    if (actor.protocol === 'http-push') throw new Error(`${actor.label} is an HTTP endpoint; it does not publish`);
    const client = this.http(actor.id);
    return (topic, payload) => client.publish(topic, payload);
  }

  /** How an actor reaches the broker, for the narration. */
  private via(actor: ScenarioActor): string {
    return actor.protocol === 'mqtt'
      ? 'MQTT'
      : actor.protocol === 'amqp'
        ? 'AMQP 1.0'
        : actor.protocol === 'http-push'
          ? 'HTTP push'
          : 'HTTP';
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
    return template.replaceAll('{{ns}}', this.namespace).replaceAll('{{tag}}', tag ?? '');
  }

  /** Fills a payload template for message `seq`. */
  private fill(template: unknown, seq: number): unknown {
    if (typeof template === 'string') {
      const tokens: Record<string, unknown> = {
        '{{seq}}': seq,
        '{{run}}': this.runId,
        '{{plantTime}}': this.status.plantClock,
        '{{value}}': Math.round((20 + 5 * Math.sin(seq / 3) + (seq % 7) / 10) * 10) / 10,
      };
      if (template in tokens) return tokens[template];
      return template.replace(/\{\{(seq|run|plantTime|value)\}\}/g, (token) => String(tokens[token]));
    }
    if (Array.isArray(template)) return template.map((item) => this.fill(item, seq));
    if (template !== null && typeof template === 'object')
      return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, this.fill(value, seq)]));
    return template;
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

/** A message a consumer actor holds, whatever its protocol. */
interface InboxMessage {
  readonly payload: string;
  ack(): Promise<void>;
  reject(error: string): Promise<void>;
  crash(): void;
}

/** The first required field (`a|b`: either) the payload lacks, or undefined when it has all. */
function missingField(body: Record<string, unknown> | undefined, required: readonly string[]): string | undefined {
  return required.find((field) => !field.split('|').some((name) => body !== undefined && name in body));
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function formatPlant(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes >= 60
    ? `${Math.floor(minutes / 60)} h ${minutes % 60 ? `${minutes % 60} min` : ''}`.trim()
    : `${minutes} min`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
