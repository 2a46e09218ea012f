/**
 * Loads the scenario files (resources/scenarios/*.json), each validated by the scenario schema.
 * A file that does not validate is reported by name with the schema's explanation.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIssues } from '../api/contract.ts';
import { resources } from '../resources.ts';
import { scenarioSchema, type Scenario } from './scenario-schema.ts';

/** Where the shipped scenarios live (core/resources.ts: the source tree, a package or an installer). */
export const defaultScenariosDir = resources().scenariosDir;

/** A scenario file that did not load. */
export interface ScenarioProblem {
  readonly file: string;
  readonly problem: string;
}

/** Parses one scenario's JSON text; throws with the schema's explanation. */
export function parseScenario(text: string, file = 'scenario'): Scenario {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON: ${(error as Error).message}`);
  }
  const result = scenarioSchema.safeParse(json);
  if (!result.success) throw new Error(`${file}: ${describeIssues(result.error.issues)}`);
  checkReferences(result.data, file);
  return result.data;
}

/** Every scenario in `dir`, sorted by file name, and the files that failed. */
export function loadScenarios(dir = defaultScenariosDir): { scenarios: Scenario[]; problems: ScenarioProblem[] } {
  const scenarios: Scenario[] = [];
  const problems: ScenarioProblem[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort();
  } catch (error) {
    problems.push({ file: dir, problem: (error as Error).message });
  }
  for (const file of files)
    try {
      scenarios.push(parseScenario(readFileSync(join(dir, file), 'utf8'), file));
    } catch (error) {
      problems.push({ file, problem: (error as Error).message });
    }
  return { scenarios, problems };
}

/** Actors, queues and marks a step names must be declared (a trainer's typo fails at load, not mid-class). */
function checkReferences(scenario: Scenario, file: string): void {
  const actors = new Set(scenario.actors.map((actor) => actor.id));
  const queues = new Set(scenario.queues.map((queue) => queue.name));
  const marks = new Set<string>();
  const fail = (step: number, what: string) => {
    throw new Error(`${file}: step ${step + 1}: ${what}`);
  };
  const amqpActors = new Set(scenario.actors.filter((a) => a.protocol === 'amqp').map((a) => a.id));
  // A run works only in its namespace (runner.ts): its actors' role is derived from these topics
  // (identity.ts), and a queue subscription or replay outside it would hand them other data.
  const outside = (template: string) => !template.startsWith('{{ns}}/');
  for (const queue of scenario.queues)
    for (const filter of queue.subscriptions)
      if (outside(filter))
        throw new Error(
          `${file}: queue "${queue.name}": subscription "${filter}" must start with {{ns}}/ (the scenario's namespace)`,
        );
  scenario.steps.forEach(({ action }, index) => {
    const topics =
      action.do === 'publish'
        ? [action.topic]
        : action.do === 'subscribe'
          ? action.filters
          : action.do === 'replay'
            ? [action.topicFilter]
            : [];
    for (const topic of topics.filter(outside))
      fail(index, `topic "${topic}" must start with {{ns}}/ (the scenario's namespace)`);
    const actor = 'actor' in action ? action.actor : undefined;
    if (actor !== undefined && !actors.has(actor)) fail(index, `unknown actor "${actor}"`);
    if (actor !== undefined && amqpActors.has(actor) && action.do !== 'consume')
      fail(index, `actor "${actor}" speaks AMQP, which the demo uses for consumers only (consume steps)`);
    if (action.do === 'mark') marks.add(action.as);
    if (action.do === 'replay') {
      queues.add(action.queue); // created by the replay
      if (action.from !== 'beginning' && !marks.has(action.from.mark))
        fail(index, `unknown mark "${action.from.mark}"`);
    }
    if ((action.do === 'consume' || action.do === 'redeliver') && !queues.has(action.queue))
      fail(index, `unknown queue "${action.queue}"`);
    if (action.do === 'consume' && !action.count && !action.untilDead && !action.untilPublishedBy)
      fail(index, 'a consume step needs count, untilPublishedBy or untilDead');
  });
}
