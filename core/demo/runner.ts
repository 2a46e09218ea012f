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
import type { DemoStatus } from '../api/contract.ts';
import type { DemoEndpoints } from './actors.ts';
import { anonymousRunAs } from './identity.ts';
import { RunContext, Stopped, type RunIdentity } from './run-context.ts';
import { withTimeout } from './run-helpers.ts';
import { performStep } from './run-steps.ts';
import type { ServiceCall } from './run-state.ts';
import type { Scenario } from './scenario-schema.ts';

export { clientIdOf, namespaceOf, type ServiceCall } from './run-state.ts';
export type { RunIdentity } from './run-context.ts';

/** How long one step may take in real time before it fails (a stuck consumer must not hang a class). */
const stepTimeoutMs = 30_000;

/**
 * One run of one scenario. Its state is plain data, so a test can run some steps, restart the
 * broker, point the run at the new broker (`retarget`) and run the rest.
 */
export class ScenarioRun {
  readonly runId: string;
  readonly namespace: string;
  readonly status: DemoStatus;
  /** The run's state, shared with its steps (run-steps.ts). */
  private readonly context: RunContext;

  constructor(
    readonly scenario: Scenario,
    call: ServiceCall,
    endpoints: DemoEndpoints,
    readonly speed: number = scenario.defaultSpeed,
    /** Who the actors log in as (default: no credentials, for a broker without a security store). */
    identity: RunIdentity = { credentials: undefined, runAs: anonymousRunAs(scenario) },
  ) {
    this.context = new RunContext(scenario, call, endpoints, speed, identity);
    this.runId = this.context.runId;
    this.namespace = this.context.namespace;
    this.status = this.context.status;
  }

  /** Points the run at a (restarted) broker: actors reconnect to the new endpoints. */
  retarget(call: ServiceCall, endpoints: DemoEndpoints): void {
    this.context.call = call;
    this.context.actors.retarget(endpoints);
  }

  /** Creates the scenario's queues (after a reset). */
  async setUp(): Promise<void> {
    for (const queue of this.scenario.queues)
      await this.context.call('queues.create', {
        name: this.context.queueName(queue.name),
        subscriptions: queue.subscriptions.map((filter) => this.context.expand(filter)),
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
        await withTimeout(performStep(this.context, action, step, index), timeoutMs);
        step.state = 'done';
      } catch (error) {
        if (error instanceof Stopped || this.context.stopped) {
          step.state = 'skipped';
          this.status.state = 'stopped';
        } else {
          this.context.aborted = true;
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
    this.context.stopped = true;
  }

  /** Disconnects every simulated client (persistent sessions stay on the broker). */
  async closeActors(): Promise<void> {
    for (const [id, endpoint] of this.context.pushEndpoints) {
      await endpoint.down();
      await this.context
        .call('push.delete', { queue: this.context.pushQueues.get(id)!, name: this.context.pushName(id) })
        .catch(() => {});
    }
    this.context.pushEndpoints.clear();
    await this.context.actors.close();
  }
}
