/** Operations of demos, bridges, configuration, backups, push consumers and health. */
import { z } from 'zod';
import { count } from './primitives.ts';
import { queueNameSchema } from './wire.ts';
import {
  backupStatusSchema,
  configImportResultSchema,
  demoNameSchema,
  demoScenarioSchema,
  demoStatusSchema,
} from './admin-schemas.ts';
import {
  api,
  authenticated,
  configResources,
  demoResource,
  everything,
  type Operation,
  operation,
  publicAccess,
} from './operation.ts';
import { byId } from './inputs.ts';
import { bridgeStatusSchema } from '../../schema/bridge-status.ts';
import { configDocumentSchema } from '../../schema/config-document.ts';
import { pushConsumerConfigSchema, pushConsumerViewSchema, pushStatusSchema } from '../../schema/push-config.ts';

export const adminOperations = {
  'demo.list': operation({
    summary: 'List the demo and training scenarios with their simulated systems and narrated steps',
    input: z.strictObject({}),
    output: z.object({ scenarios: z.array(demoScenarioSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/demo/scenarios` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.start': operation({
    summary: 'Reset a scenario’s namespace and run it against this broker (one run at a time)',
    input: z.strictObject({
      name: demoNameSchema,
      speed: z
        .number()
        .positive()
        .max(100_000)
        .optional()
        .meta({ description: 'Plant ms per real ms (default: the scenario’s own)' }),
    }),
    output: demoStatusSchema,
    errors: ['queue-in-use', 'invalid-config'],
    http: { method: 'POST', path: `${api}/demo/scenarios/:name:start` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [`demo/${input.name}`] },
  }),
  'demo.status': operation({
    summary: 'Progress of the current or last demo run: each step, the checks and the outcome',
    input: z.strictObject({}),
    output: demoStatusSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/demo/status` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.stop': operation({
    summary: 'Stop the running demo (its simulated clients disconnect; its namespace stays until reset)',
    input: z.strictObject({}),
    output: demoStatusSchema,
    errors: [],
    http: { method: 'POST', path: `${api}/demo:stop` },
    permission: { kind: 'acl', action: 'manage', resources: demoResource },
  }),
  'demo.reset': operation({
    summary: 'Delete everything in a scenario’s namespace: its queues, session queues and dead messages',
    input: z.strictObject({ name: demoNameSchema }),
    output: z.object({ name: z.string(), deletedQueues: z.array(z.string()), purgedDead: count }),
    errors: ['queue-in-use'],
    http: { method: 'POST', path: `${api}/demo/scenarios/:name:reset` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [`demo/${input.name}`] },
  }),
  'bridges.status': operation({
    summary: 'Each bridge: connection, backlog, rates, last error, alarms',
    input: z.strictObject({}),
    output: z.object({ bridges: z.array(bridgeStatusSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/bridges` },
    permission: { kind: 'acl', action: 'browse', resources: everything },
  }),
  'config.export': operation({
    summary:
      'Export the declared configuration as one versioned document: queues, roles, users, bridges, listeners (secrets only with includeSecrets)',
    input: z.strictObject({
      includeSecrets: z
        .boolean()
        .default(false)
        .meta({ description: 'Include password hashes and bridge credentials' }),
    }),
    output: configDocumentSchema,
    errors: [],
    http: { method: 'GET', path: `${api}/config:export` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'config.import': operation({
    summary: 'Apply a configuration document (all or nothing, idempotent); dryRun only answers what would change',
    input: z.strictObject({
      document: z
        .record(z.string(), z.unknown())
        .meta({ description: 'A configuration document (JSON Schema: GET /api/v1/config/schema)' }),
      dryRun: z.boolean().default(false).meta({ description: 'Only show what would change' }),
    }),
    output: configImportResultSchema,
    errors: ['invalid-config-document', 'role-not-found'],
    http: { method: 'POST', path: `${api}/config:import` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'config.schema': operation({
    summary: 'The JSON Schema of the configuration document (published beside the OpenAPI document)',
    input: z.strictObject({}),
    output: z.record(z.string(), z.unknown()),
    errors: [],
    http: { method: 'GET', path: `${api}/config/schema` },
    permission: authenticated,
  }),
  'config.rabbitmq': operation({
    summary:
      'Export the topology as a RabbitMQ definitions document (quorum queues, DMQs, amqp.topic bindings, permissions) with warnings for what RabbitMQ cannot express',
    input: z.strictObject({
      vhost: z.string().min(1).max(255).default('/').meta({ description: 'RabbitMQ virtual host' }),
    }),
    output: z.object({ definitions: z.record(z.string(), z.unknown()), warnings: z.array(z.string()) }),
    errors: [],
    http: { method: 'GET', path: `${api}/config:export-rabbitmq` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.start': operation({
    summary:
      'Start an online backup of the store (SQLite backup API) while the broker keeps running; poll backup.get for progress',
    input: z.strictObject({}),
    output: backupStatusSchema,
    errors: [],
    http: { method: 'POST', path: `${api}/backups`, status: 201 },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.get': operation({
    summary: 'A backup’s progress (pages copied) and outcome',
    input: byId,
    output: backupStatusSchema,
    errors: ['backup-not-found'],
    http: { method: 'GET', path: `${api}/backups/:id` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
  }),
  'backup.download': operation({
    summary: 'A finished backup’s bytes as NDJSON chunks (offset + base64), for `sluice backup FILE` and the UI',
    input: byId,
    output: z.object({ offset: count, data: z.string(), totalBytes: count }),
    errors: ['backup-not-found'],
    http: { method: 'GET', path: `${api}/backups/:id/content` },
    permission: { kind: 'acl', action: 'manage', resources: configResources },
    response: 'ndjson',
  }),
  // HTTP push consumers (docs/push.md). Configuring one makes the queue's messages flow out of
  // the broker: it needs `manage` on the queue, and the service also checks `consume` on the
  // queue and `subscribe` on its topics (DESIGN.md: authorize the flow).
  'push.list': operation({
    summary: 'The push consumers of a queue: configuration (secrets hidden) and status',
    input: z.strictObject({ queue: queueNameSchema }),
    output: z.object({ pushConsumers: z.array(pushConsumerViewSchema) }),
    errors: ['invalid-queue-name'],
    http: { method: 'GET', path: `${api}/queues/:queue/push` },
    permission: { kind: 'acl', action: 'browse', resources: (input) => [input.queue] },
  }),
  'push.put': operation({
    summary: 'Create or replace a push consumer of a queue (a secret left out keeps the stored one)',
    input: pushConsumerConfigSchema.extend({ queue: queueNameSchema }),
    output: pushConsumerViewSchema,
    errors: ['queue-not-found', 'invalid-queue-name', 'not-authorized'],
    http: { method: 'POST', path: `${api}/queues/:queue/push` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.queue] },
  }),
  'push.delete': operation({
    summary: 'Delete a push consumer; its requests under way are released back to the queue',
    input: z.strictObject({ queue: queueNameSchema, name: z.string().min(1).max(64) }),
    output: z.object({ name: z.string(), deleted: z.literal(true) }),
    errors: ['push-consumer-not-found', 'invalid-queue-name'],
    http: { method: 'DELETE', path: `${api}/queues/:queue/push/:name` },
    permission: { kind: 'acl', action: 'manage', resources: (input) => [input.queue] },
  }),
  'push.status': operation({
    summary: 'Each push consumer on a queue the caller may browse: state, last answer, in flight, rate, alarms',
    input: z.strictObject({}),
    output: z.object({ pushConsumers: z.array(pushStatusSchema) }),
    errors: [],
    http: { method: 'GET', path: `${api}/push` },
    // The service lists only the push consumers of queues the caller may browse.
    permission: authenticated,
  }),
  health: operation({
    summary: 'Is the broker up, and which version',
    input: z.strictObject({}),
    output: z.object({ status: z.enum(['ok', 'closing']), version: z.string(), uptimeMs: count }),
    errors: [],
    http: { method: 'GET', path: `${api}/health` },
    permission: publicAccess,
  }),
} as const satisfies Record<string, Operation>;
