/** The contract's wire schemas for security, connections, demos, configuration and backups. Browser-safe. */
import { z } from 'zod';
import { count, epochMs } from './primitives.ts';
import { actionSchema, idSchema } from './wire.ts';

// ── security and connections ─────────────────────────────────────────────────────────

/** A user name. */
export const userNameSchema = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a user name is 1–64 of A–Z a–z 0–9 . _ @ -');
/** A new password. */
export const passwordSchema = z.string().min(8, 'a password has at least 8 characters').max(1024);
/** A user as the API shows it (never its password hash). */
export const userSchema = z.object({
  name: z.string(),
  roles: z.array(z.string()),
  createdAt: epochMs,
  updatedAt: epochMs,
});
/** One ACL rule: actions granted on resource patterns (docs/security.md). */
export const aclRuleSchema = z.strictObject({
  actions: z.array(z.union([actionSchema, z.literal('*')])).min(1),
  patterns: z.array(z.string().min(1).max(1024)).min(1).max(1000),
});
/** A role. */
export const roleSchema = z.object({
  name: z.string(),
  description: z.string(),
  rules: z.array(aclRuleSchema),
  builtIn: z.boolean(),
});
/** A bearer token from login or setup. */
export const tokenSchema = z.object({ token: z.string(), expiresAt: epochMs, user: z.string() });
/** Selects audit records. */
export const auditFilterSchema = z.strictObject({
  user: z.string().optional(),
  operation: z.string().optional(),
  result: z.enum(['ok', 'refused', 'failed']).optional(),
  from: epochMs.optional().meta({ description: 'At or after (ms since epoch)' }),
  until: epochMs.optional().meta({ description: 'At or before (ms since epoch)' }),
});
/** One audit record. */
export const auditRecordSchema = z.object({
  id: idSchema,
  at: epochMs,
  user: z.string().nullable(),
  protocol: z.string(),
  address: z.string().nullable(),
  operation: z.string(),
  resource: z.string(),
  result: z.enum(['ok', 'refused', 'failed']),
  code: z.string().nullable(),
  detail: z.string().nullable(),
});
/** A client connection on any protocol. */
export const connectionSchema = z.object({
  id: z.string(),
  protocol: z.string(),
  clientId: z.string().nullable(),
  user: z.string().nullable(),
  address: z.string().nullable(),
  connectedAt: epochMs,
  counters: z.object({ messagesIn: count, messagesOut: count }),
});

// ── demo scenarios ───────────────────────────────────────────────────────────────────

/** A demo scenario's name (a file in resources/scenarios/). */
export const demoNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a scenario name: lower-case letters, digits and -');

/** A demo scenario as listed: its simulated systems and its narrated steps. */
export const demoScenarioSchema = z.object({
  name: z.string(),
  title: z.string(),
  summary: z.string(),
  defaultSpeed: z.number(),
  actors: z.array(z.object({ id: z.string(), label: z.string(), system: z.string(), protocol: z.string() })),
  steps: z.array(z.object({ narration: z.string(), kind: z.string() })),
});

/** One check of a demo run: what was expected, what was found. */
export const demoCheckResultSchema = z.object({
  /** Index of the step that made it. */
  step: count,
  label: z.string(),
  pass: z.boolean(),
  expected: z.string(),
  actual: z.string(),
});

/**
 * Who a demo run's simulated clients log in as: a generated `demo` user whose role grants only
 * the topics and queues the scenario uses (user and role null: the broker has no security store,
 * so they connect without credentials). The user exists while the run does.
 */
export const demoRunAsSchema = z.object({
  user: z.string().nullable(),
  role: z.string().nullable(),
  rules: z.array(z.object({ actions: z.array(actionSchema), patterns: z.array(z.string()) })),
});

/** The current (or last) demo run, with progress per step and the checks so far. */
export const demoStatusSchema = z.object({
  scenario: z.string().nullable(),
  title: z.string().nullable(),
  /** idle: nothing ran since start; passed/failed: finished, by its checks. */
  state: z.enum(['idle', 'running', 'passed', 'failed', 'stopped']),
  runId: z.string().nullable(),
  speed: z.number(),
  startedAt: epochMs.nullable(),
  finishedAt: epochMs.nullable(),
  /** The simulated plant clock (`08:17`). */
  plantClock: z.string().nullable(),
  steps: z.array(
    z.object({
      narration: z.string(),
      kind: z.string(),
      state: z.enum(['pending', 'running', 'done', 'failed', 'skipped']),
      /** What the step is doing or did, in one line. */
      detail: z.string().nullable(),
      progress: z.object({ done: count, total: count }).nullable(),
    }),
  ),
  checks: z.array(demoCheckResultSchema),
  error: z.string().nullable(),
  /** Who the actors run as; null before the first run. */
  runAs: demoRunAsSchema.nullable(),
});

/** One line of an import's plan: what changes (or would), on which object. */
export const configChangeSchema = z.object({
  kind: z.enum(['queue', 'role', 'user', 'push', 'bridge', 'listener']),
  name: z.string(),
  /** manual: in the document but only the config file can apply it (bridges, listeners). */
  action: z.enum(['create', 'update', 'unchanged', 'manual', 'skip']),
  /** The fields that differ, for updates. */
  fields: z.array(z.string()),
  detail: z.string().optional(),
});

/** What an import did, or (dry run) would do. */
export const configImportResultSchema = z.object({
  dryRun: z.boolean(),
  applied: z.boolean(),
  changes: z.array(configChangeSchema),
  warnings: z.array(z.string()),
});

/** An online backup's progress. */
export const backupStatusSchema = z.object({
  id: idSchema,
  state: z.enum(['running', 'completed', 'failed']),
  /** File name in the data directory's backups/ folder. */
  file: z.string(),
  totalPages: count,
  remainingPages: count,
  bytes: count,
  startedAt: epochMs,
  finishedAt: epochMs.nullable(),
  error: z.string().nullable(),
});
