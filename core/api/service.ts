/**
 * The API service: implements every contract operation against the engine. The handler tables
 * are mapped types over the contract, so a missing operation fails to compile (STYLE.md §9);
 * every input is parsed with the contract's schema here, once, whatever transport it came by.
 * This file is the facade: the service's options and shape, the shared state, and call, stream
 * and subscribe with their checks; the handlers live by area in core/api/service/ (messaging,
 * security, admin, push, live events, stats) and the permission checks and audit in access.ts.
 */
import { toSluiceError } from '../errors.ts';
import type { BridgeStatus } from '../schema/bridge-status.ts';
import type { Engine } from '../engine/engine.ts';
import type { actions } from '../security/authorize.ts';
import { allowAllPolicy } from '../security/authorize.ts';
import type { BrokerSecurity } from '../security/policy.ts';
import { DemoRunner } from '../demo/demo-runner.ts';
import { ConfigTransfer, type DeclaredSettings } from './config-transfer.ts';
import { ConnectionRegistry } from './connections.ts';
import {
  parseInput,
  type WireAction,
  type EventOperationName,
  type OperationName,
  type OperationOutput,
  type StreamOperationName,
  type UnaryOperationName,
} from './contract.ts';
import { RateSampler } from './rates.ts';
import { PullReceivers } from './receivers.ts';
import { TopicTree, defaultTopicTreeLimits, type TopicTreeLimits } from './topic-tree.ts';
import { createSparkplugService } from './sparkplug.ts';
import type { SparkplugLimits } from '../sparkplug/state.ts';
import type { PushRegistry } from '../schema/push-config.ts';
import { createAccess } from './service/access.ts';
import { adminHandlers } from './service/admin.ts';
import {
  hostContext,
  type CallContext,
  type EventSink,
  type MaybePromise,
  type StreamHandlers,
  type UnaryHandlers,
} from './service/context.ts';
import { createLiveEvents } from './service/live.ts';
import { messagingHandlers } from './service/messaging.ts';
import { pushHandlers } from './service/push.ts';
import { securityHandlers } from './service/security.ts';
import { brokerStats, sampleCounters } from './service/stats.ts';

export type { PushRegistry };

export { hostContext, type CallContext, type EventSink } from './service/context.ts';

/** How the service is set up. */
export interface ServiceOptions {
  /** Reported by `health`. */
  readonly version?: string;
  /** How often rates are sampled and stats events sent (default 1 s). */
  readonly rateIntervalMs?: number;
  /** Topic tree bounds (default 100 000 topics, 256-byte previews). */
  readonly topicTree?: Partial<TopicTreeLimits>;
  /** Sparkplug state bounds (docs/sparkplug.md). */
  readonly sparkplug?: Partial<SparkplugLimits>;
  /** How often coalesced topic tree frames go out (default 250 ms: a few frames a second, DESIGN.md: UI). */
  readonly treeFrameMs?: number;
  /** Users, roles, ACL, audit. Without it every caller may do everything (tests, embedded use). */
  readonly security?: BrokerSecurity;
  /** Where listeners report their connections (default: a new, empty registry). */
  readonly connections?: ConnectionRegistry;
  /** Where the demo scenario files are (default: resources/scenarios/). */
  readonly scenariosDir?: string;
  /** The running bridges' status (none when the broker runs no bridges). */
  readonly bridges?: () => readonly BridgeStatus[];
  /** The config file's listener and bridge sections, for config.export/import (default: none). */
  readonly declared?: () => DeclaredSettings;
  /** The push consumers (docs/push.md); without them the push operations answer as if none exist. */
  readonly push?: () => PushRegistry | undefined;
}

// The contract's permission list and core/security's must agree (types are never written twice,
// but the browser-safe contract cannot import core/security): a compile error if they drift.
const sameActions: [WireAction] extends [(typeof actions)[number]]
  ? [(typeof actions)[number]] extends [WireAction]
    ? true
    : never
  : never = true;
void sameActions;

/** The API implementation every transport (HTTP, IPC, CLI through HTTP) calls. */
export interface Service {
  /**
   * Validates `input`, checks the operation's permission for `context` (default: the trusted
   * host) and runs a one-answer operation; failures are SluiceErrors. Management operations
   * are written to the audit log.
   */
  call<N extends UnaryOperationName>(name: N, input: unknown, context?: CallContext): Promise<OperationOutput<N>>;
  /** Validates `input`, checks the permission, and returns a streamed operation's NDJSON lines (each ends in `\n`). */
  stream<N extends StreamOperationName>(name: N, input: unknown, context?: CallContext): Iterable<string>;
  /**
   * Validates `input` and starts a live subscription; returns the function that ends it.
   * Events arrive synchronously from the engine: a transport that cannot keep up must buffer
   * boundedly and drop (see the HTTP SSE writer), never block or grow without limit.
   */
  subscribe<N extends EventOperationName>(
    name: N,
    input: unknown,
    onEvent: EventSink<N>,
    context?: CallContext,
    /** Called once when the caller's rights no longer allow the subscription (it has stopped by then). */
    onRevoked?: () => void,
  ): () => void;
  /** The security policy every door uses (allow-all when the service has none). */
  readonly policy: BrokerSecurity | typeof allowAllPolicy;
  /** The connection registry listeners report to. */
  readonly connections: ConnectionRegistry;
  /** Demo scenarios (docs/demo.md); the host attaches the listeners' endpoints once they are up. */
  readonly demo: DemoRunner;
  /** Engine and rate state for /metrics. */
  readonly engine: Engine;
  /** Current per-queue rates (sampled once a second). */
  queueRates(name: string): ReturnType<RateSampler['queue']>;
  /** Every operation it implements (the contract's, checked by the compiler and by a test). */
  readonly operations: ReadonlySet<OperationName>;
  /** True once close() ran: health says `closing`, readiness fails. */
  readonly closing: boolean;
  /** Stops the rate sampler; the engine is closed by its owner. */
  close(): void;
}

/** Builds the service over an open engine. */
export function createService(engine: Engine, options: ServiceOptions = {}): Service {
  const startedAt = Date.now();
  const topicTree = new TopicTree({ ...defaultTopicTreeLimits, ...options.topicTree });
  const live = createLiveEvents(engine, topicTree, options.treeFrameMs);
  const rates = new RateSampler(
    () => sampleCounters(engine),
    options.rateIntervalMs,
    (seconds) => {
      topicTree.sample(seconds);
      live.sendStats(stats);
    },
  );
  const stats = () => brokerStats(engine, startedAt, rates);
  const sparkplug = createSparkplugService(engine, options.sparkplug);
  // One listener on '#' feeds the topic tree and the Sparkplug state (a prefix check for
  // topics outside spBv1.0/); '#' does not match '$'-topics [MQTT-4.7.2-1].
  const stopTopicTree = engine.listen('#', (message) => {
    topicTree.record(message);
    sparkplug.record(message);
  });
  let closing = false;
  const receivers = new PullReceivers(engine, (error, what) =>
    engine.logger.warn({ err: error }, `pull receiver: ${what} failed`),
  );

  const security = options.security;
  const policy = security ?? allowAllPolicy;
  const connections = options.connections ?? new ConnectionRegistry();
  // The demo runner's management steps run as the host, through this same service.
  // Its simulated clients log in as a generated least-privilege `demo` user when there is a security store.
  const demo = new DemoRunner((name, input) => service.call(name, input), {
    secured: security !== undefined,
    ...(options.scenariosDir !== undefined && { scenariosDir: options.scenariosDir }),
    onProblem: ({ file, problem }) => engine.logger.warn({ file }, `demo scenario not loaded: ${problem}`),
  });
  const transfer = new ConfigTransfer(
    engine,
    security,
    options.declared ?? (() => ({ listeners: {}, bridges: [] })),
    options.version,
    () => options.push?.(),
  );
  const { authorizeCall, audited, record } = createAccess(security, policy);
  const messaging = messagingHandlers(engine, { rates, receivers, topicTree, sparkplug, brokerStats: stats });
  const securityOps = securityHandlers(security, connections);
  const admin = adminHandlers(demo, () => options.bridges?.() ?? [], transfer);
  const push = pushHandlers(engine, () => options.push?.(), policy);

  const unary: UnaryHandlers = {
    ...messaging.unary,
    ...securityOps.unary,
    ...admin.unary,
    ...push.unary,
    health: () => ({
      status: closing ? ('closing' as const) : ('ok' as const),
      version: options.version ?? '0.0.0',
      uptimeMs: Date.now() - startedAt,
    }),
  };

  const streams: StreamHandlers = { ...messaging.streams, ...securityOps.streams, ...admin.streams };
  const { events } = live;

  rates.start();
  const service: Service = {
    demo,
    operations: new Set([...Object.keys(unary), ...Object.keys(streams), ...Object.keys(events)] as OperationName[]),
    policy,
    connections,
    engine,
    queueRates: (name) => rates.queue(name),
    async call(name, input, context = hostContext) {
      const handler = unary[name] as (input: unknown, context: CallContext) => MaybePromise<unknown>;
      const audit = audited(name, input, context);
      try {
        const parsed = parseInput(name, input);
        authorizeCall(name, parsed, context);
        const output = (await handler(parsed, context)) as OperationOutput<typeof name>;
        if (audit) record(name, context, audit.resource);
        return output;
      } catch (error) {
        const failure = toSluiceError(error);
        if (audit) record(name, context, audit.resource, failure);
        throw failure;
      }
    },
    stream(name, input, context = hostContext) {
      const handler = streams[name] as (input: unknown, context: CallContext) => Iterable<string>;
      const parsed = parseInput(name, input);
      authorizeCall(name, parsed, context);
      return handler(parsed, context);
    },
    subscribe(name, input, onEvent, context = hostContext, onRevoked) {
      const handler = events[name] as (input: unknown, onEvent: EventSink) => () => void;
      const parsed = parseInput(name, input);
      authorizeCall(name, parsed, context);
      const stop = handler(parsed, onEvent as EventSink);
      if (context === hostContext || !security) return stop;
      // DESIGN.md: rights are live. A password change, a deleted user or a role that no longer
      // covers the subscription ends it.
      const user = context.principal.user;
      const stopWatching = security.onRightsChanged((change) => {
        if (change.user !== null && change.user !== user) return;
        if (change.kind === 'roles')
          try {
            authorizeCall(name, parsed, context);
            return;
          } catch {
            // no longer allowed: ends below
          }
        stopWatching();
        stop();
        onRevoked?.();
      });
      return () => {
        stopWatching();
        stop();
      };
    },
    get closing() {
      return closing;
    },
    close() {
      closing = true;
      rates.stop();
      stopTopicTree();
      live.close();
      receivers.close();
      demo.close().catch((error: unknown) => engine.logger.warn({ err: error }, 'demo runner: stop failed'));
    },
  };
  return service;
}
