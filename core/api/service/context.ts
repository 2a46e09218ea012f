/**
 * What every part of the service shares: who is calling (the call context, the trusted host)
 * and the shapes of the handler tables, mapped over the contract so that a missing operation
 * fails to compile (STYLE.md §9).
 */
import type { Principal } from '../../security/authorize.ts';
import type {
  EventOperationName,
  OperationOutput,
  ParsedInput,
  StreamOperationName,
  UnaryOperationName,
} from '../contract.ts';

/** Who is calling, as the transport established it. */
export interface CallContext {
  readonly principal: Principal;
  /** The bearer token the request carried (for logout). */
  readonly token?: string;
}

/**
 * The host process itself (the Electron main process acting for its local user, broker
 * internals): trusted, not checked. Transports acting for a remote or renderer user pass that
 * user's context instead.
 */
export const hostContext: CallContext = { principal: { user: null, protocol: 'host' } };

/** Receives one live event; called synchronously after the commit that made it visible. */
export type EventSink<N extends EventOperationName = EventOperationName> = (event: OperationOutput<N>) => void;

export type MaybePromise<T> = T | Promise<T>;
/** One handler per one-answer operation: a missing one is a compile error. */
export type UnaryHandlers = {
  [N in UnaryOperationName]: (input: ParsedInput<N>, context: CallContext) => MaybePromise<OperationOutput<N>>;
};
/** One handler per streamed operation, yielding NDJSON lines. */
export type StreamHandlers = {
  [N in StreamOperationName]: (input: ParsedInput<N>, context: CallContext) => Iterable<string>;
};
/** One handler per event operation: subscribes and returns the unsubscribe function. */
export type EventHandlers = { [N in EventOperationName]: (input: ParsedInput<N>, onEvent: EventSink<N>) => () => void };

/** The one-answer operations of an area, by their names' first word (`queues` → `queues.list`, …). */
export type OperationsOf<Area extends string> = Extract<UnaryOperationName, `${Area}.${string}`>;
/** One area's handlers: every one-answer operation of the area, and only those. */
export type AreaHandlers<Area extends string> = Pick<UnaryHandlers, OperationsOf<Area>>;
