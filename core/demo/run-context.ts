/**
 * What one scenario run works with (docs/demo.md): its status, what its actors published and
 * processed, its marks and push endpoints, the simulated clients, and the helpers every step
 * uses (names in the run's namespace, plant time, the stop check). The run's lifecycle is
 * runner.ts; the steps are run-steps.ts.
 */
import { randomBytes } from 'node:crypto';
import type { DemoStatus } from '../api/contract.ts';
import { ActorPool } from './actor-pool.ts';
import type { ActorCredentials, DemoEndpoints } from './actors.ts';
import type { CheckSubject } from './checks.ts';
import type { DemoRunAs } from './identity.ts';
import type { PushEndpoint } from './push-endpoint.ts';
import { sleep } from './run-helpers.ts';
import {
  clientIdOf,
  expandTemplate,
  namespaceOf,
  type BridgeView,
  type Processed,
  type Published,
  type ServiceCall,
} from './run-state.ts';
import type { Scenario, ScenarioActor } from './scenario-schema.ts';

/** One step's entry in the run's status. */
export type StepStatus = DemoStatus['steps'][number];

/** Who the actors are: the run's `demo` user, or anonymous on a broker without a security store. */
export interface RunIdentity {
  /** Undefined: connect without credentials (the broker has no security store). */
  readonly credentials: ActorCredentials | undefined;
  /** What the Demo view shows. */
  readonly runAs: DemoRunAs;
}

/** Thrown when a run is stopped. */
export class Stopped extends Error {}

/**
 * The state of one run of one scenario. It is plain data, so a test can run some steps, restart
 * the broker, point the run at the new broker and run the rest.
 */
export class RunContext {
  readonly runId = randomBytes(4).toString('hex');
  readonly namespace: string;
  readonly status: DemoStatus;
  /** What each publisher sent, by actor id. */
  readonly published = new Map<string, Published>();
  /** What each consumer or subscriber processed, by actor id. */
  readonly processed = new Map<string, Processed>();
  /** `mark` steps: wall-clock time by mark name (a replay's start). */
  readonly marks = new Map<string, number>();
  /** The simulated MQTT, HTTP and AMQP clients. */
  readonly actors: ActorPool;
  /** `http-push` actors: endpoints the broker's push consumers call. */
  readonly pushEndpoints = new Map<string, PushEndpoint>();
  /** Each subscriber's filters (templates), for its resubscribe on reconnect. */
  readonly subscriptions = new Map<string, readonly string[]>();
  /** Each bridge's `forwarded` counter when this run first looked at it. */
  readonly forwardedAtStart = new Map<string, number>();
  /** The queue of each `http-push` actor's push consumer. */
  readonly pushQueues = new Map<string, string>();
  /** Plant time gone by in this run. */
  plantMs = 0;
  /** Set by stop(). */
  stopped = false;
  /** Set when a step timed out, so its loop ends too. */
  aborted = false;

  constructor(
    readonly scenario: Scenario,
    /** Runs an operation as the host; replaced by a retarget. */
    public call: ServiceCall,
    endpoints: DemoEndpoints,
    readonly speed: number,
    /** Who the actors log in as. */
    identity: RunIdentity,
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

  /** What the checks read (checks.ts); `call` follows a retarget. */
  readonly checkSubject: CheckSubject = {
    call: (name, input) => this.call(name, input),
    actor: (id) => this.actor(id),
    publishedBy: (id) => this.publishedBy(id),
    processedBy: (id) => this.processedBy(id),
    mqtt: (id) => this.actors.mqtt(id),
    queueName: (local) => this.queueName(local),
    bridgeStatus: (name) => this.bridgeStatus(name),
    forwardedAtStart: (name) => this.forwardedAtStart.get(name)!,
  };

  /** A bridge's status from the API, its forwarded baseline noted on first sight. */
  async bridgeStatus(name: string): Promise<BridgeView> {
    const { bridges } = await this.call('bridges.status', {});
    const bridge = bridges.find((candidate) => candidate.name === name);
    if (!bridge)
      throw new Error(
        `bridge "${name}" is not in the broker config (docs/demo.md says how to add it for this scenario)`,
      );
    if (!this.forwardedAtStart.has(name)) this.forwardedAtStart.set(name, bridge.forwarded);
    return bridge;
  }

  /** The push consumer name of an `http-push` actor. */
  pushName(actor: string): string {
    return clientIdOf(this.scenario.name, actor);
  }

  /** The scenario's actor `id`; throws when there is none. */
  actor(id: string): ScenarioActor {
    const actor = this.scenario.actors.find((a) => a.id === id);
    if (!actor) throw new Error(`unknown actor ${id}`);
    return actor;
  }

  /** What actor `id` published (counts start at zero). */
  publishedBy(id: string): Published {
    let sent = this.published.get(id);
    if (!sent) this.published.set(id, (sent = { seq: 0, retained: new Map(), topics: new Set() }));
    return sent;
  }

  /** What actor `id` processed (counts start at zero). */
  processedBy(id: string): Processed {
    let processed = this.processed.get(id);
    if (!processed) this.processed.set(id, (processed = { seqs: [], rejected: 0 }));
    return processed;
  }

  /** A scenario queue's name in the run's namespace. */
  queueName(local: string): string {
    return `${this.namespace}/${local}`;
  }

  /** A topic template in the run's namespace. */
  expand(template: string, tag?: string): string {
    return expandTemplate(template, this.namespace, tag);
  }

  /** The payload template tokens of message `seq` (scenario-schema.ts: payloadTemplate). */
  tokens(seq: number): Record<string, unknown> {
    return {
      '{{seq}}': seq,
      '{{run}}': this.runId,
      '{{plantTime}}': this.status.plantClock,
      '{{value}}': Math.round((20 + 5 * Math.sin(seq / 3) + (seq % 7) / 10) * 10) / 10,
    };
  }

  /** Lets `plantMs` of plant time go by (at the run's speed), stopping when asked. */
  async advance(plantMs: number): Promise<void> {
    const until = Date.now() + plantMs / this.speed;
    while (Date.now() < until) {
      this.checkStopped();
      await sleep(Math.min(100, until - Date.now()));
    }
    this.plantMs += plantMs;
    this.updateClock();
  }

  /** Shows the plant clock for the plant time gone by. */
  updateClock(): void {
    const [hours, minutes] = this.scenario.plantClockStart.split(':').map(Number) as [number, number];
    const total = Math.floor((hours * 60 + minutes + this.plantMs / 60_000) % (24 * 60));
    this.status.plantClock = `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
  }

  /** Throws Stopped once the run was stopped or a step timed out. */
  checkStopped(): void {
    if (this.stopped || this.aborted) throw new Stopped('stopped');
  }
}
