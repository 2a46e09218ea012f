import type { BridgeStatus } from '../schema/bridge-status.ts';
import { configDocumentJsonSchema } from '../schema/config-document.ts';
/**
 * The API service: implements every contract operation against the engine. The handler tables
 * are mapped types over the contract, so a missing operation fails to compile (STYLE.md §9);
 * every input is parsed with the contract's schema here, once, whatever transport it came by.
 */
import { SluiceError, toSluiceError } from '../errors.ts';
import type { DeadMessageSelection } from '../engine/dmq.ts';
import type { Engine, QueueInfo } from '../engine/engine.ts';
import type { actions } from '../security/authorize.ts';
import { allowAllPolicy, authorize, type Principal } from '../security/authorize.ts';
import type { BrokerSecurity } from '../security/policy.ts';
import { DemoRunner } from '../demo/demo-runner.ts';
import { ConfigTransfer, type DeclaredSettings } from './config-transfer.ts';
import { ConnectionRegistry } from './connections.ts';
import {
  contract,
  parseInput,
  type WireAction,
  type BrokerEvent,
  type EventOperationName,
  type OperationName,
  type OperationOutput,
  type ParsedInput,
  type StreamOperationName,
  type UnaryOperationName,
  type WireStats,
} from './contract.ts';
import { RateSampler, type CounterSnapshot } from './rates.ts';
import { PullReceivers, type PullSettlement } from './receivers.ts';
import { TopicTree, defaultTopicTreeLimits, type TopicChange, type TopicTreeLimits } from './topic-tree.ts';
import { createSparkplugService } from './sparkplug.ts';
import type { SparkplugLimits } from '../sparkplug/state.ts';
import { topicMatches } from '../schema/topic.ts';
import { decodePayload, toMessageEvent, toWireDeadMessage, toWireMessage, toWireQueue } from './wire.ts';
import type { PushRegistry } from '../schema/push-config.ts';

export type { PushRegistry };

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

// The contract's permission list and core/security's must agree (types are never written twice,
// but the browser-safe contract cannot import core/security): a compile error if they drift.
const sameActions: [WireAction] extends [(typeof actions)[number]]
  ? [(typeof actions)[number]] extends [WireAction]
    ? true
    : never
  : never = true;
void sameActions;

/** Receives one live event; called synchronously after the commit that made it visible. */
export type EventSink<N extends EventOperationName = EventOperationName> = (event: OperationOutput<N>) => void;

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

type MaybePromise<T> = T | Promise<T>;
/** One handler per one-answer operation: a missing one is a compile error. */
type UnaryHandlers = {
  [N in UnaryOperationName]: (input: ParsedInput<N>, context: CallContext) => MaybePromise<OperationOutput<N>>;
};
/** One handler per streamed operation, yielding NDJSON lines. */
type StreamHandlers = { [N in StreamOperationName]: (input: ParsedInput<N>, context: CallContext) => Iterable<string> };
/** One handler per event operation: subscribes and returns the unsubscribe function. */
type EventHandlers = { [N in EventOperationName]: (input: ParsedInput<N>, onEvent: EventSink<N>) => () => void };

/** Most topics one tree frame carries; more changed ones go in the next frames (bounds a frame's size). */
const maxTopicsPerFrame = 5000;

/** Builds the service over an open engine. */
export function createService(engine: Engine, options: ServiceOptions = {}): Service {
  const startedAt = Date.now();
  const topicTree = new TopicTree({ ...defaultTopicTreeLimits, ...options.topicTree });
  const statsSinks = new Set<(stats: WireStats) => void>();
  const rates = new RateSampler(
    () => sampleCounters(engine),
    options.rateIntervalMs,
    (seconds) => {
      topicTree.sample(seconds);
      if (statsSinks.size === 0) return;
      const stats = brokerStats(); // computed once per interval, shared by every subscriber
      for (const sink of statsSinks) sink(stats);
    },
  );
  const sparkplug = createSparkplugService(engine, options.sparkplug);
  // One listener on '#' feeds the topic tree and the Sparkplug state (a prefix check for
  // topics outside spBv1.0/); '#' does not match '$'-topics [MQTT-4.7.2-1].
  const stopTopicTree = engine.listen('#', (message) => {
    topicTree.record(message);
    sparkplug.record(message);
  });
  // Coalesced tree frames (DESIGN.md: UI): one timer for every subscriber, whatever the message
  // rate. It also runs with no subscriber, so the newest message of each topic is let go within a frame.
  const treeSinks = new Set<(changes: readonly TopicChange[]) => void>();
  const treeTimer = setInterval(() => {
    const changes = topicTree.takeChanges(maxTopicsPerFrame);
    if (changes.length > 0) for (const sink of treeSinks) sink(changes);
  }, options.treeFrameMs ?? 250);
  treeTimer.unref();
  let closing = false;
  const wireQueue = (info: QueueInfo) => toWireQueue(info, rates.queue(info.name));
  const receivers = new PullReceivers(engine, (error, what) =>
    engine.logger.warn({ err: error }, `pull receiver: ${what} failed`),
  );
  const publish = async (
    { payload, payloadEncoding, ...properties }: ParsedInput<'messages.publish'>,
    { principal }: CallContext,
  ) => {
    const receipt = await engine.publish({
      ...properties,
      payload: decodePayload(payload, payloadEncoding),
      // The door it came through (http for the REST API), as MQTT and AMQP record theirs; `api`
      // only for the host's own calls. The publisher is the authenticated user, when there is one.
      protocol: principal.protocol === 'host' ? 'api' : principal.protocol,
      ...(principal.user !== null && { publisher: principal.user }),
    });
    return { ...receipt, queues: [...receipt.queues] };
  };
  const settle =
    (outcome: PullSettlement) =>
    async ({ name, deliveryId, error }: { name: string; deliveryId: string; error?: string | undefined }) => {
      engine.getQueue(name); // queue-not-found first
      await receivers.settle(name, deliveryId, outcome, error);
      return { name, deliveryId, outcome };
    };

  function brokerStats(): WireStats {
    const { counters } = engine;
    const storage = engine.storageInfo();
    const deadCounts = engine.deadMessages.counts();
    return {
      startedAt,
      uptimeMs: Date.now() - startedAt,
      broker: {
        published: counters.published,
        publishRefused: counters.publishRefused,
        delivered: counters.delivered,
        commits: counters.commits,
        commitMsAverage: counters.commits > 0 ? counters.commitMsTotal / counters.commits : 0,
      },
      rates: rates.broker(),
      storage: {
        databaseBytes: storage.databaseBytes,
        logBytes: storage.logBytes,
        logStartId: String(storage.logStartId),
        logStartTime: storage.firstTimestamp,
      },
      queues: engine.listQueues().map((info) => {
        const { config: _config, createdAt: _createdAt, ...state } = wireQueue(info);
        return state;
      }),
      dead: { total: deadCounts.reduce((sum, row) => sum + row.count, 0), byQueue: deadCounts },
    };
  }

  /** Calls a subscriber, keeping its failure away from the engine's commit path. */
  const guarded =
    <E>(sink: (event: E) => void) =>
    (event: E) => {
      try {
        sink(event);
      } catch (error) {
        engine.logger.warn({ err: error }, 'live event subscriber failed');
      }
    };

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
  const requireSecurity = (): BrokerSecurity => {
    if (!security)
      throw new SluiceError('invalid-config', 'This broker runs without a security store (users and roles are off)');
    return security;
  };

  /** Checks `name`'s declared permission for `context` (STYLE.md §9: enforced once, for every transport). */
  function authorizeCall(name: OperationName, input: unknown, context: CallContext): void {
    if (context === hostContext) return;
    const permission = contract[name].permission as
      | { kind: 'public' | 'authenticated' }
      | { kind: 'acl'; action: WireAction; resources(input: unknown): readonly string[] };
    if (permission.kind !== 'acl') return;
    for (const resource of permission.resources(input))
      authorize(context.principal, permission.action, resource, policy);
    for (const [action, resource] of flowChecks(name, input)) authorize(context.principal, action, resource, policy);
  }

  /**
   * A push consumer sends the queue's messages to whoever runs its endpoint, so whoever sets
   * one up must be allowed to take them: `consume` on the queue and `subscribe` on each of its
   * topics (DESIGN.md: authorize the flow; a rule on a queue name never grants its topics).
   */
  function authorizePushFlow(queue: string, context: CallContext): void {
    if (context === hostContext) return;
    authorize(context.principal, 'consume', queue, policy);
    for (const filter of engine.queueByName(queue)?.config.subscriptions ?? [])
      authorize(context.principal, 'subscribe', filter, policy);
  }

  /**
   * Management operations (and security changes) go to the audit log, refusals included; so
   * does every call an agent makes over MCP (docs/mcp.md: every action audited).
   */
  function audited(name: OperationName, input: unknown, context: CallContext): { resource: string } | undefined {
    const permission = contract[name].permission as {
      kind: string;
      action?: string;
      resources?: (i: unknown) => readonly string[];
    };
    const security = name.startsWith('auth.setup') || name.startsWith('users.') || name.startsWith('roles.');
    if (permission.action !== 'manage' && !security && context.principal.protocol !== 'mcp') return undefined;
    let resource = '';
    try {
      resource = (permission.resources?.(input) ?? []).join(' ');
    } catch {
      // unparsed input: no resource to name
    }
    if (name.startsWith('users.') || name.startsWith('roles.'))
      resource = String((input as { name?: unknown } | undefined)?.name ?? '$security');
    return { resource };
  }

  function record(name: OperationName, context: CallContext, resource: string, error?: SluiceError): void {
    if (!security || context === hostContext) return;
    const { principal } = context;
    security.audit.record({
      user: principal.user,
      protocol: principal.protocol,
      address: principal.address ?? null,
      operation: name,
      resource,
      result:
        error === undefined
          ? 'ok'
          : error.code === 'not-authorized' || error.code === 'not-authenticated'
            ? 'refused'
            : 'failed',
      code: error?.code ?? null,
      detail: error?.detail ?? null,
    });
  }

  const unary: UnaryHandlers = {
    'queues.list': () => ({ queues: engine.listQueues().map(wireQueue) }),
    'queues.get': ({ name }) => wireQueue(engine.getQueue(name)),
    'queues.create': async ({ name, ...config }) => wireQueue(await engine.createQueue(name, config)),
    'queues.update': async ({ name, ...changes }) => wireQueue(await engine.updateQueue(name, changes)),
    'queues.delete': async ({ name, force }) => {
      await engine.deleteQueue(name, { force });
      return { name, deleted: true as const };
    },
    'queues.purge': async ({ name }) => ({ name, purged: await engine.purgeQueue(name) }),
    'queues.browse': ({ name, afterEntryId, limit }) => {
      const entries = engine.browseQueue(name, { afterEntryId: Number(afterEntryId ?? 0), limit });
      return {
        messages: entries.map((entry) => ({
          entryId: String(entry.entryId),
          state: entry.state,
          deliveryCount: entry.deliveryCount,
          totalDeliveryCount: entry.totalDeliveryCount,
          expiresAt: entry.expiresAt,
          replayed: entry.replayed,
          message: toWireMessage(entry.message),
        })),
        nextAfterEntryId: entries.length === limit ? String(entries[entries.length - 1]!.entryId) : null,
      };
    },
    'dmq.list': ({ afterId, limit, ...filter }) => {
      const page = engine.deadMessages.list(filter, { limit, ...(afterId !== undefined && { afterId }) });
      return {
        deadMessages: page.map(toWireDeadMessage),
        nextAfterId: page.length === limit ? page[page.length - 1]!.id : null,
      };
    },
    'dmq.get': ({ id }) => toWireDeadMessage(engine.deadMessages.get(id)),
    'dmq.counts': () => {
      const counts = engine.deadMessages.counts();
      const byReason = engine.deadMessages.countsByReason();
      return { counts, total: counts.reduce((sum, row) => sum + row.count, 0), byReason };
    },
    'dmq.redeliver': async (selection) => {
      const result = await engine.deadMessages.redeliver(toSelection(selection));
      return { redelivered: result.redelivered, failed: [...result.failed] };
    },
    'dmq.purge': async (selection) => ({ purged: await engine.deadMessages.purge(toSelection(selection)) }),
    'replay.start': (spec) => engine.replays.start(spec),
    'messages.journey': ({ id }) => engine.journeyOf(id),
    'replay.get': ({ id }) => engine.replays.get(id),
    'replay.list': () => ({ replays: engine.replays.list() }),
    'replay.cancel': ({ id }) => engine.replays.cancel(id),
    'messages.publish': publish,
    'topics.publish': publish,
    'queues.receive': async ({ name, max, visibilityTimeoutMs, waitMs }, { principal }) => {
      const label = `${principal.protocol === 'host' ? 'api' : principal.protocol}:receive`;
      const received = await receivers.receive(name, { max, visibilityTimeoutMs, waitMs, label });
      return {
        messages: received.map(({ deliveryId, delivery, visibleUntil }) => ({
          deliveryId,
          deliveryCount: delivery.deliveryCount,
          replayed: delivery.replayed,
          visibleUntil,
          message: toWireMessage(delivery.message),
        })),
      };
    },
    'queues.ack': settle('ack'),
    'queues.reject': settle('reject'),
    'queues.release': settle('release'),
    'stats.get': () => brokerStats(),
    'topics.tree': ({ filter, limit }) => topicTree.snapshot(filter, limit),
    'sparkplug.state': sparkplug.handlers['sparkplug.state'],
    'sparkplug.rebirth': (input, { principal }) =>
      sparkplug.handlers['sparkplug.rebirth'](input, {
        protocol: principal.protocol === 'host' ? 'api' : principal.protocol,
        user: principal.user,
      }),
    'auth.status': () => ({
      setupRequired: security?.setupRequired ?? false,
      anonymous: security ? security.options.anonymous : true,
    }),
    'auth.setup': async ({ user, password }) => {
      const sec = requireSecurity();
      if (!sec.setupRequired)
        throw new SluiceError('not-authorized', 'Setup is done: users exist. Log in as an admin to add users.');
      await sec.createUser(user, password, ['admin']);
      return sec.issueToken(user);
    },
    'auth.login': async ({ user, password }, context) => {
      const sec = requireSecurity();
      const principal = await sec.authenticate({
        username: user,
        password,
        protocol: context.principal.protocol,
        ...(context.principal.address !== undefined && { address: context.principal.address }),
      });
      return sec.issueToken(principal.user!);
    },
    'auth.logout': (_input, context) => {
      if (context.token !== undefined) security?.revokeToken(context.token);
      return { loggedOut: context.token !== undefined };
    },
    'auth.whoami': (_input, { principal }) => ({
      user: principal.user,
      protocol: principal.protocol,
      roles: security ? security.rolesOf(principal).map((role) => role.name) : ['admin'],
    }),
    'users.list': () => ({
      users: requireSecurity()
        .listUsers()
        .map((u) => ({ ...u, roles: [...u.roles] })),
    }),
    'users.create': async ({ name, password, roles: given }) => {
      const user = await requireSecurity().createUser(name, password, given);
      return { ...user, roles: [...user.roles] };
    },
    'users.update': async ({ name, password, roles: given }) => {
      const user = await requireSecurity().updateUser(name, {
        ...(password !== undefined && { password }),
        ...(given !== undefined && { roles: given }),
      });
      return { ...user, roles: [...user.roles] };
    },
    'users.delete': ({ name }) => {
      requireSecurity().deleteUser(name);
      return { name, deleted: true as const };
    },
    'roles.list': () => ({ roles: requireSecurity().listRoles().map(wireRole) }),
    'roles.put': ({ name, description, rules }) => wireRole(requireSecurity().putRole(name, description, rules)),
    'roles.delete': ({ name }) => {
      requireSecurity().deleteRole(name);
      return { name, deleted: true as const };
    },
    'audit.list': ({ afterId, limit, ...filter }) => {
      const records = requireSecurity().audit.query({
        ...definedOnly(filter),
        ...(afterId !== undefined && { afterId: Number(afterId) }),
        limit,
      });
      return {
        records: records.map(wireAudit),
        nextAfterId: records.length === limit ? String(records[records.length - 1]!.id) : null,
      };
    },
    'connections.list': ({ protocol }) => ({ connections: connections.list(protocol) }),
    'connections.disconnect': ({ id }) => {
      connections.disconnect(id);
      return { id, disconnected: true as const };
    },
    'demo.list': () => ({ scenarios: demo.list() }),
    'demo.start': ({ name, speed }) => demo.start(name, speed),
    'demo.status': () => demo.status(),
    'demo.stop': () => demo.stop(),
    'demo.reset': ({ name }) => demo.reset(name),
    'bridges.status': () => ({ bridges: [...(options.bridges?.() ?? [])] }),
    'config.export': ({ includeSecrets }) => transfer.export(includeSecrets),
    'config.import': ({ document, dryRun }) => transfer.import(document, dryRun),
    'config.schema': () => configDocumentJsonSchema(),
    'config.rabbitmq': ({ vhost }) => transfer.rabbitmq(vhost),
    'backup.start': () => transfer.backups.start(),
    'backup.get': ({ id }) => transfer.backups.get(id),
    'push.list': ({ queue }) => ({ pushConsumers: options.push?.()?.list(queue) ?? [] }),
    'push.put': async (input, context) => {
      const push = options.push?.();
      if (!push) throw new SluiceError('broker-closing', 'Push consumers are not running in this broker');
      authorizePushFlow(input.queue, context);
      // Replacing one that belongs to another queue takes it away from that queue: manage there too.
      const moved = push.list().find((view) => view.config.name === input.name && view.config.queue !== input.queue);
      if (moved && context !== hostContext) authorize(context.principal, 'manage', moved.config.queue, policy);
      return push.put(input, { user: context.principal.user });
    },
    'push.delete': async ({ queue, name }) => {
      const push = options.push?.();
      const found = push?.list(queue).find((view) => view.config.name === name);
      if (!push || !found)
        throw new SluiceError('push-consumer-not-found', `No push consumer "${name}" on queue "${queue}"`);
      await push.delete(name);
      return { name, deleted: true as const };
    },
    'push.status': (_input, context) => ({
      pushConsumers: (options.push?.()?.statuses() ?? []).filter(
        (status) => context === hostContext || policy.allows(context.principal, 'browse', status.queue),
      ),
    }),
    health: () => ({
      status: closing ? ('closing' as const) : ('ok' as const),
      version: options.version ?? '0.0.0',
      uptimeMs: Date.now() - startedAt,
    }),
  };

  const streams: StreamHandlers = {
    'dmq.export': (filter) => engine.deadMessages.exportNdjson(filter),
    'audit.export': function* (filter) {
      for (const row of requireSecurity().audit.all(definedOnly(filter))) yield `${JSON.stringify(wireAudit(row))}\n`;
    },
    'backup.download': ({ id }) => transfer.backups.download(id),
  };

  const events: EventHandlers = {
    'events.stream': ({ topics, tree, stats, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      // One function for every filter: the router's listener set delivers a message once even
      // when the filters overlap.
      const onMessage = (message: Parameters<Parameters<Engine['listen']>[1]>[0]) =>
        emit(toMessageEvent(message, previewBytes));
      const stops = (topics ?? []).map((filter) => engine.listen(filter, onMessage));
      const onStats = (snapshot: WireStats) => emit({ type: 'stats', stats: snapshot });
      if (stats) statsSinks.add(onStats);
      const onTree = (changes: readonly TopicChange[]) => {
        const nodes = [];
        for (const change of changes)
          if (tree === '#' || topicMatches(tree!, change.topic)) nodes.push(change.node(previewBytes));
        if (nodes.length > 0)
          emit({
            type: 'topics',
            topics: nodes,
            tracked: topicTree.tracked,
            untrackedMessages: topicTree.untrackedMessages,
          });
      };
      if (tree !== undefined) treeSinks.add(onTree);
      return () => {
        for (const stop of stops) stop();
        statsSinks.delete(onStats);
        treeSinks.delete(onTree);
      };
    },
    'topics.stream': ({ filter, previewBytes }, onEvent) => {
      const emit = guarded<BrokerEvent>(onEvent);
      return engine.listen(filter, (message) => emit(toMessageEvent(message, previewBytes)));
    },
  };

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
      clearInterval(treeTimer);
      statsSinks.clear();
      treeSinks.clear();
      receivers.close();
      demo.close().catch((error: unknown) => engine.logger.warn({ err: error }, 'demo runner: stop failed'));
    },
  };
  return service;
}

/**
 * DESIGN.md: authorize the flow, not only the door. Operations that make messages reach a queue
 * someone reads need the topics' rights too, beyond the permission on the queue's name: a
 * queue's subscriptions need `subscribe` on each filter, a replay needs `replay` on its topic
 * filter (all of the log when none is given), so it copies only topics the caller may read.
 */
function flowChecks(name: OperationName, input: unknown): Array<readonly [WireAction, string]> {
  const subscribeEach = (filters: readonly string[] | undefined) =>
    (filters ?? []).map((filter) => ['subscribe', filter] as const);
  switch (name) {
    case 'queues.create':
      return subscribeEach((input as ParsedInput<'queues.create'>).subscriptions);
    case 'queues.update':
      return subscribeEach((input as ParsedInput<'queues.update'>).subscriptions);
    case 'replay.start': {
      const spec = input as ParsedInput<'replay.start'>;
      return [['replay', spec.topicFilter ?? '#'], ...subscribeEach(spec.target.create?.subscriptions)];
    }
    default:
      return [];
  }
}

function wireRole(role: ReturnType<BrokerSecurity['listRoles']>[number]) {
  return { ...role, rules: role.rules.map((rule) => ({ actions: [...rule.actions], patterns: [...rule.patterns] })) };
}

function wireAudit(row: ReturnType<BrokerSecurity['audit']['query']>[number]) {
  return { ...row, id: String(row.id) };
}

/** Drops undefined fields (exactOptionalPropertyTypes). */
function definedOnly<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}

function toSelection(selection: ParsedInput<'dmq.purge'>): DeadMessageSelection {
  if (selection.ids) return { ids: selection.ids };
  return { filter: selection.filter ?? {} }; // `all: true` is the empty filter
}

/** Lifetime totals for the rate sampler: broker in = published, out = delivered, dead = dead-lettered. */
function sampleCounters(engine: Engine): CounterSnapshot {
  const queues = new Map<string, { in: number; out: number; dead: number }>();
  let dead = 0;
  for (const { name, counters } of engine.listQueues()) {
    queues.set(name, { in: counters.enqueued, out: counters.delivered, dead: counters.deadLettered });
    dead += counters.deadLettered;
  }
  return { broker: { in: engine.counters.published, out: engine.counters.delivered, dead }, queues };
}
