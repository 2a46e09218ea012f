/**
 * What a scenario run works on (docs/demo.md): its namespace, its actors' client ids, and the
 * counts it keeps of what was published and processed. Shared by the step runner (runner.ts),
 * the checks (checks.ts) and the actors' identity (identity.ts).
 */
import type { OperationInput, OperationOutput, UnaryOperationName } from '../api/contract.ts';

/** Runs an API operation as the broker's host (the service's own `call`). */
export type ServiceCall = <N extends UnaryOperationName>(
  name: N,
  input: OperationInput<N>,
) => Promise<OperationOutput<N>>;

/** The namespace prefix of a scenario's topics and queues. */
export const namespaceOf = (scenario: string): string => `demo/${scenario}`;
/** MQTT client id of a scenario's actor (its persistent session queue is `mqtt/<clientId>`). */
export const clientIdOf = (scenario: string, actor: string): string => `demo-${scenario}-${actor}`;

/** A topic template of a scenario file made concrete: `{{ns}}` is the namespace, `{{tag}}` the tag. */
export function expandTemplate(template: string, namespace: string, tag?: string): string {
  return template.replaceAll('{{ns}}', namespace).replaceAll('{{tag}}', tag ?? '');
}

/** What a publisher has sent in this run. */
export interface Published {
  seq: number;
  /** Last payload per retained topic. */
  readonly retained: Map<string, string>;
  /** Topics it published to. */
  readonly topics: Set<string>;
}

/** What a consumer or subscriber has processed in this run. */
export interface Processed {
  /** `seq` of each acked message of this run, in processing order. */
  readonly seqs: number[];
  rejected: number;
  /** Publisher counts when a subscriber disconnected (for its backlog check). */
  awaySince?: Map<string, number>;
  /** Published per publisher while it was away. */
  awayPublished?: Map<string, number>;
}

/** One bridge's status as the API answers it. */
export type BridgeView = OperationOutput<'bridges.status'>['bridges'][number];
