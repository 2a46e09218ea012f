/**
 * Demo scenarios are data (docs/demo.md): one JSON file per scenario in resources/scenarios/,
 * validated by this schema, so a trainer can copy one and change topics, rates and timings
 * without code. Times in a file are *plant time*; the runner divides them by its speed factor.
 *
 * Names inside a file are relative to the scenario's namespace: a queue `erp` is created as
 * `demo/<scenario>/erp`, and `{{ns}}` in a topic is `demo/<scenario>`.
 */
import { z } from 'zod';

/** An id inside one scenario (actors, marks, queues). */
const localName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -');
/** A topic template: `{{ns}}` is replaced by the scenario's namespace. */
const topicTemplate = z.string().min(1).max(512);
/** A bridge's name in the broker config (core/schema/bridge-config.ts). */
const bridgeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
/** Plant time in ms (divided by the speed factor when run). */
const plantMs = z.number().int().nonnegative();

/** A simulated plant system: which protocol it speaks to the broker. */
export const actorSchema = z.strictObject({
  id: localName,
  /** What it stands for, shown in the UI: `PLC line 1`, `SAP ERP adapter`… */
  label: z.string().min(1).max(80),
  system: z.enum(['plc', 'scada', 'mes', 'erp', 'historian']),
  /**
   * `mqtt`: MQTT.js over TCP. `http`: fetch on the raw publish / pull-receive routes.
   * `amqp`: a rhea AMQP 1.0 consumer (`queue://<name>` receiver, accepted / rejected by hand);
   * consumers only (consume steps), and it needs the AMQP listener enabled.
   * `http-push`: an HTTP endpoint the runner serves on 127.0.0.1; a `push` step points a push
   * consumer at it (docs/push.md) and an `endpoint` step takes it down or brings it back.
   */
  protocol: z.enum(['mqtt', 'http', 'amqp', 'http-push']),
});

/** A queue the scenario creates in its namespace. */
export const scenarioQueueSchema = z.strictObject({
  name: localName,
  /** Topic templates (`{{ns}}/line1/#`). */
  subscriptions: z.array(topicTemplate).min(1),
  maxRedelivery: z.number().int().min(0).max(100).optional(),
});

/**
 * A payload template: any JSON; the string tokens `{{seq}}` (1, 2, … per actor), `{{run}}`
 * (this run's id), `{{plantTime}}` (ISO plant clock) and `{{value}}` (a plausible reading) are
 * substituted — a whole-string token keeps its type (a number stays a number).
 */
const payloadTemplate = z.json();

/** A check inside the run; every check's result is part of the final outcome. */
export const checkSchema = z.discriminatedUnion('check', [
  z.strictObject({
    check: z.literal('received'),
    /** The consumer or subscriber actor. */
    actor: localName,
    /** Messages of this run it processed (acked); `equalsPublishedBy` counts what that actor published. */
    count: z.number().int().nonnegative().optional(),
    equalsPublishedBy: localName.optional(),
    /** Processed in publish order (their `seq` strictly increasing). */
    inOrder: z.boolean().default(false),
    /** Only messages with `seq` ≥ this (a replay's range). */
    fromSeq: z.number().int().positive().optional(),
    /** Nothing with a smaller `seq` than fromSeq arrived. */
    nothingBefore: z.boolean().default(false),
  }),
  z.strictObject({
    check: z.literal('depth'),
    queue: localName,
    depth: z.number().int().nonnegative().optional(),
    equalsPublishedBy: localName.optional(),
  }),
  z.strictObject({
    check: z.literal('dead'),
    queue: localName,
    count: z.number().int().nonnegative(),
    reason: z.enum(['max-redelivery', 'ttl-expired', 'overflow', 'rejected']).optional(),
    deliveryCount: z.number().int().nonnegative().optional(),
    errorIncludes: z.string().optional(),
  }),
  z.strictObject({
    check: z.literal('retained'),
    /** The subscriber that must hold the last value of every retained topic its publisher sent. */
    actor: localName,
    publisher: localName,
  }),
  z.strictObject({
    check: z.literal('backlog'),
    /** A persistent-session subscriber: messages it received on reconnect that were sent while it was away. */
    actor: localName,
    equalsPublishedBy: localName,
  }),
  z.strictObject({
    check: z.literal('bridge'),
    /** A bridge of the broker's config (by name). */
    bridge: bridgeName,
    /** Its backlog holds at least this many messages (Kafka away, nothing dropped). */
    backlogAtLeast: z.number().int().nonnegative().optional(),
    /** Its backlog holds exactly this many. */
    backlog: z.number().int().nonnegative().optional(),
    /** Since this run began it forwarded at least as many as that actor published (nothing lost). */
    forwardedPublishedBy: localName.optional(),
  }),
]);

/** One thing a step does. */
export const actionSchema = z.discriminatedUnion('do', [
  z.strictObject({
    do: z.literal('publish'),
    actor: localName,
    /** Topic template; `{{tag}}` cycles through `tags` when given. */
    topic: topicTemplate,
    tags: z.array(z.string().regex(/^[^/+#]+$/)).optional(),
    count: z.number().int().positive().max(10_000),
    /** Plant time between two messages. */
    everyPlantMs: plantMs,
    payload: payloadTemplate,
    retain: z.boolean().default(false),
  }),
  z.strictObject({
    do: z.literal('consume'),
    actor: localName,
    queue: localName,
    /**
     * `ack`: process and acknowledge. `validate`: reject (→ DMQ, reason rejected) a payload missing
     * a `require`d field. `crash`: take the message and never settle it, so its visibility timeout
     * fails the attempt (counted) until max redelivery dead-letters it.
     */
    mode: z.enum(['ack', 'validate', 'crash']),
    /** Required payload fields; `a|b` accepts either. */
    require: z.array(z.string()).default([]),
    /** Stop after this many messages of this run were settled (ack or reject)… */
    count: z.number().int().positive().optional(),
    /** …or once as many as that actor published in this run were settled… */
    untilPublishedBy: localName.optional(),
    /** …or, for `crash`, once this many of the queue's messages are dead. */
    untilDead: z.number().int().positive().optional(),
  }),
  z.strictObject({
    do: z.literal('subscribe'),
    actor: localName,
    filters: z.array(topicTemplate).min(1),
    /** `persistent`: clean session off, so the broker keeps a queue for it while it is away. */
    session: z.enum(['clean', 'persistent']),
  }),
  z.strictObject({ do: z.literal('disconnect'), actor: localName }),
  z.strictObject({
    do: z.literal('reconnect'),
    actor: localName,
    /** Wait until the subscriber holds this many messages from the backlog and retained values. */
    expectBacklogOf: localName.optional(),
  }),
  z.strictObject({ do: z.literal('wait'), plantMs }),
  /** Remembers the current time (a replay start). */
  z.strictObject({ do: z.literal('mark'), as: localName }),
  z.strictObject({
    do: z.literal('replay'),
    /** The new consumer's queue (created by the replay, no subscriptions). */
    queue: localName,
    from: z.union([z.literal('beginning'), z.strictObject({ mark: localName })]),
    topicFilter: topicTemplate,
  }),
  z.strictObject({ do: z.literal('redeliver'), queue: localName }),
  z.strictObject({ do: z.literal('expect'), checks: z.array(checkSchema).min(1) }),
  /**
   * Waits for a bridge of the broker's config (docs/bridges.md) to be connected, disconnected
   * (its upstream went away: a trainer stops it, a test takes it down), or drained (backlog 0;
   * the step's progress shows the backlog draining). Real time, up to `timeoutSeconds`.
   */
  z.strictObject({
    do: z.literal('bridge'),
    bridge: bridgeName,
    until: z.enum(['connected', 'disconnected', 'drained']),
    timeoutSeconds: z.number().int().positive().max(3600).default(30),
  }),
  /** Starts an `http-push` actor's endpoint and points a push consumer of the queue at it. */
  z.strictObject({
    do: z.literal('push'),
    actor: localName,
    queue: localName,
  }),
  /** Takes an `http-push` actor's endpoint down, or brings it back (then waits until it has caught up). */
  z.strictObject({
    do: z.literal('endpoint'),
    actor: localName,
    state: z.enum(['down', 'up']),
    /** With `up`: wait until it booked as many messages as that actor published in this run. */
    untilPublishedBy: localName.optional(),
  }),
]);

/** One narrated step: what the class is told, and what the runner does. */
export const stepSchema = z.strictObject({
  narration: z.string().min(1).max(400),
  action: actionSchema,
});

/** A whole scenario file. */
export const scenarioSchema = z.strictObject({
  name: localName,
  title: z.string().min(1).max(120),
  summary: z.string().min(1).max(600),
  /** The plant clock's start, shown in narration (`06:00`). */
  plantClockStart: z
    .string()
    .regex(/^\d{2}:\d{2}$/)
    .default('06:00'),
  /** Suggested speed factor (plant ms per real ms). */
  defaultSpeed: z.number().positive().max(100_000).default(60),
  actors: z.array(actorSchema).min(1),
  queues: z.array(scenarioQueueSchema).default([]),
  steps: z.array(stepSchema).min(1),
});

/** A validated scenario. */
export type Scenario = z.infer<typeof scenarioSchema>;
/** One step's action. */
export type ScenarioAction = z.infer<typeof actionSchema>;
/** One check. */
export type ScenarioCheck = z.infer<typeof checkSchema>;
/** One actor. */
export type ScenarioActor = z.infer<typeof actorSchema>;
