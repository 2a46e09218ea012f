/**
 * What the API service holds: the scenario catalogue and at most one run at a time, with
 * `demo.list / start / status / stop / reset` (core/api/contract.ts) implemented on top.
 */
import { SluiceError } from '../errors.ts';
import type { DemoScenario, DemoStatus } from '../api/contract.ts';
import type { ActorCredentials, DemoEndpoints } from './actors.ts';
import { MqttActor } from './actors.ts';
import { DemoIdentity } from './identity.ts';
import { ScenarioRun } from './runner.ts';
import { clientIdOf, expandTemplate, namespaceOf, type ServiceCall } from './run-state.ts';
import type { Scenario } from './scenario-schema.ts';
import { loadScenarios, type ScenarioProblem } from './scenarios.ts';

const idle: DemoStatus = {
  scenario: null,
  title: null,
  state: 'idle',
  runId: null,
  speed: 1,
  startedAt: null,
  finishedAt: null,
  plantClock: null,
  steps: [],
  checks: [],
  error: null,
  runAs: null,
};

/** Runs demo scenarios against the broker it belongs to. */
export class DemoRunner {
  private endpoints: DemoEndpoints | undefined;
  private current: { run: ScenarioRun; done: Promise<void> } | undefined;
  private readonly loaded: { scenarios: Scenario[]; problems: ScenarioProblem[] };
  private readonly secured: boolean;
  /** A start is between its checks and its run (creating the user, resetting): a second one waits its turn. */
  private starting = false;

  constructor(
    private readonly call: ServiceCall,
    options: {
      readonly scenariosDir?: string;
      readonly onProblem?: (problem: ScenarioProblem) => void;
      /** The broker has a security store: actors log in as a generated `demo` user (identity.ts). */
      readonly secured?: boolean;
    } = {},
  ) {
    this.secured = options.secured ?? false;
    this.loaded = loadScenarios(options.scenariosDir);
    for (const problem of this.loaded.problems) options.onProblem?.(problem);
  }

  /** Tells the runner where the broker's listeners are (the host calls this once they are up). */
  attach(endpoints: DemoEndpoints): void {
    this.endpoints = endpoints;
  }

  /** The scenarios, as the contract lists them. */
  list(): DemoScenario[] {
    return this.loaded.scenarios.map((scenario) => ({
      name: scenario.name,
      title: scenario.title,
      summary: scenario.summary,
      defaultSpeed: scenario.defaultSpeed,
      actors: scenario.actors.map(({ id, label, system, protocol }) => ({ id, label, system, protocol })),
      steps: scenario.steps.map(({ narration, action }) => ({ narration, kind: action.do })),
    }));
  }

  /** One scenario by name; invalid-input when there is none. */
  scenario(name: string): Scenario {
    const scenario = this.loaded.scenarios.find((s) => s.name === name);
    if (!scenario)
      throw new SluiceError(
        'invalid-input',
        `No demo scenario "${name}"; there are: ${this.loaded.scenarios.map((s) => s.name).join(', ')}`,
      );
    return scenario;
  }

  /** Resets the scenario's namespace and starts it in the background; answers the first status. */
  async start(name: string, speed?: number): Promise<DemoStatus> {
    const scenario = this.scenario(name);
    this.refuseWhileRunning();
    const endpoints = this.endpoints;
    if (!endpoints)
      throw new SluiceError(
        'invalid-config',
        'The demo runner has no broker endpoints yet (the host did not attach them)',
      );
    const amqpActors = scenario.actors.filter((actor) => actor.protocol === 'amqp');
    if (amqpActors.length > 0 && !endpoints.amqpUrl)
      throw new SluiceError(
        'invalid-config',
        `The demo "${name}" needs the AMQP listener (its ${amqpActors.map((a) => a.label).join(', ')} consume${amqpActors.length === 1 ? 's' : ''} over AMQP 1.0), but AMQP is disabled (amqp.enabled); enable it and restart the broker`,
      );
    this.starting = true;
    let identity: DemoIdentity | undefined;
    let run: ScenarioRun;
    try {
      identity = await DemoIdentity.open(this.call, scenario, this.secured);
      await this.clear(scenario, identity.credentials);
      run = new ScenarioRun(scenario, this.call, endpoints, speed ?? scenario.defaultSpeed, identity);
    } catch (error) {
      await identity?.close();
      throw error;
    } finally {
      this.starting = false;
    }
    const actors = identity;
    const done = (async () => {
      try {
        await run.setUp();
        await run.runSteps();
      } catch (error) {
        run.status.state = 'failed';
        run.status.error = (error as Error).message;
      } finally {
        await run.finish();
        // After the actors disconnected: the user's deletion would cut them off mid-step.
        await actors.close().catch((error: unknown) => {
          run.status.error ??= `removing the demo user failed: ${(error as Error).message}`;
        });
      }
    })();
    this.current = { run, done };
    return this.status();
  }

  /** The current or last run. */
  status(): DemoStatus {
    return structuredClone(this.current?.run.status ?? idle);
  }

  /** Resolves when the current run has finished (tests, `sluice demo run --wait` polls instead). */
  async settled(): Promise<DemoStatus> {
    await this.current?.done;
    return this.status();
  }

  /** Stops the running scenario and waits until its clients are disconnected. */
  async stop(): Promise<DemoStatus> {
    if (this.current) {
      this.current.run.stop();
      await this.current.done;
    }
    return this.status();
  }

  /**
   * Deletes everything in the scenario's namespace: queues `demo/<name>/…`, session queues of
   * its MQTT actors, their dead messages, and the retained messages it published.
   */
  async reset(name: string): Promise<{ name: string; deletedQueues: string[]; purgedDead: number }> {
    const scenario = this.scenario(name);
    this.refuseWhileRunning();
    // Clearing retained values takes an MQTT client, which logs in like the actors do.
    const identity =
      retainedTopics(scenario).size > 0 ? await DemoIdentity.open(this.call, scenario, this.secured) : undefined;
    try {
      return await this.clear(scenario, identity?.credentials);
    } finally {
      await identity?.close();
    }
  }

  private async clear(
    scenario: Scenario,
    credentials: ActorCredentials | undefined,
  ): Promise<{ name: string; deletedQueues: string[]; purgedDead: number }> {
    const { name } = scenario;
    const prefixes = [`${namespaceOf(name)}/`, `mqtt/${clientIdOf(name, '')}`];
    const ours = (queue: string) => prefixes.some((prefix) => queue.startsWith(prefix));
    const deletedQueues: string[] = [];
    for (const { name: queue } of (await this.call('queues.list', {})).queues)
      if (ours(queue)) {
        await this.call('queues.delete', { name: queue, force: true });
        deletedQueues.push(queue);
      }
    let purgedDead = 0;
    const deadQueues = new Set((await this.call('dmq.counts', {})).counts.map((row) => row.queue).filter(ours));
    for (const queue of deadQueues) purgedDead += (await this.call('dmq.purge', { filter: { queue } })).purged;
    await this.clearRetained(scenario, credentials);
    return { name, deletedQueues, purgedDead };
  }

  /** Stops any run (the broker is closing). */
  async close(): Promise<void> {
    await this.stop();
  }

  private refuseWhileRunning(): void {
    if (this.starting)
      throw new SluiceError('queue-in-use', 'A demo is starting; wait for it, then stop it first (demo.stop)');
    const run = this.current?.run;
    if (run?.status.state === 'running')
      throw new SluiceError('queue-in-use', `The demo "${run.scenario.name}" is running; stop it first (demo.stop)`);
  }

  /** An empty retained message clears a topic's retained value [MQTT-3.3.1-10]. */
  private async clearRetained(scenario: Scenario, credentials: ActorCredentials | undefined): Promise<void> {
    const topics = retainedTopics(scenario);
    if (topics.size === 0 || !this.endpoints?.mqttUrl) return;
    const client = new MqttActor(this.endpoints.mqttUrl, clientIdOf(scenario.name, 'reset'), credentials);
    await client.connect(false);
    try {
      for (const topic of topics) await client.publish(topic, '', true);
    } finally {
      await client.close();
    }
  }
}

/** The topics a scenario publishes retained values to (a reset clears them). */
function retainedTopics(scenario: Scenario): Set<string> {
  const topics = new Set<string>();
  for (const { action } of scenario.steps)
    if (action.do === 'publish' && action.retain)
      for (const tag of action.tags ?? [undefined])
        topics.add(expandTemplate(action.topic, namespaceOf(scenario.name), tag));
  return topics;
}
