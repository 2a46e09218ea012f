import { z } from 'zod';
import { bridgeConfigSchema } from './bridge-config.ts';
import { pushConsumerConfigSchema } from './push-config.ts';
import { checkedString, queueConfigSchema, queueNamePattern } from './queue-config.ts';
import { SluiceError } from '../errors.ts';

// Pure schema module: the configuration document that `sluice config export` writes and
// `sluice config import` reads (docs/handover.md). Browser-safe, so the Settings view validates
// a file before it sends it.

/** The document's `format` marker. */
export const configDocumentFormat = 'sluice-config';
/** The document version this build writes and understands. */
export const configDocumentVersion = 1;

/** Permissions a rule can grant (the same list as the contract's and core/security's). */
const actionSchema = z.enum(['publish', 'subscribe', 'consume', 'browse', 'replay', 'manage']);

/** A declared queue: its name and its whole configuration. */
export const queueDeclarationSchema = queueConfigSchema
  .extend({
    name: checkedString((name) => {
      if (!queueNamePattern.test(name))
        throw new SluiceError('invalid-queue-name', `"${name}" is not a valid queue name`);
    }),
  })
  .strict();

/** One ACL rule: actions on topic filters and queue names. */
export const aclRuleDeclarationSchema = z.strictObject({
  actions: z.array(z.union([actionSchema, z.literal('*')])).min(1),
  patterns: z.array(z.string().min(1).max(1024)).min(1).max(1000),
});

/** A role defined on the broker (built-in roles are not exported: every broker has them). */
export const roleDeclarationSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a role name is 1–64 of A–Z a–z 0–9 . _ -'),
  description: z.string().max(1000).default(''),
  rules: z.array(aclRuleDeclarationSchema).max(1000),
});

/** A user: name and roles; its scrypt hash only in a document exported with secrets. */
export const userDeclarationSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a user name is 1–64 of A–Z a–z 0–9 . _ @ -'),
  roles: z.array(z.string().min(1).max(64)).max(100),
  passwordHash: z
    .string()
    .max(1024)
    .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'a password hash is scrypt$N$r$p$salt$key')
    .optional()
    .meta({ description: 'The stored scrypt hash (never a password); present only with --include-secrets' }),
});

/** The listeners' settings, shaped as the config file's sections of the same names. */
export const listenersDeclarationSchema = z.strictObject({
  http: z.record(z.string(), z.unknown()).optional(),
  mqtt: z.record(z.string(), z.unknown()).optional(),
  amqp: z.record(z.string(), z.unknown()).optional(),
  tls: z.record(z.string(), z.unknown()).optional(),
});

const unique =
  (what: string) =>
  (items: ReadonlyArray<{ readonly name: string }>, ctx: z.RefinementCtx): void => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      if (seen.has(item.name))
        ctx.addIssue({ code: 'custom', message: `${what} "${item.name}" appears twice`, path: [index, 'name'] });
      seen.add(item.name);
    });
  };

/** The whole configuration document, version 1. */
export const configDocumentSchema = z
  .strictObject({
    format: z.literal(configDocumentFormat),
    version: z.literal(configDocumentVersion),
    exportedAt: z.string().optional().meta({ description: 'ISO 8601 time of the export' }),
    sluiceVersion: z.string().optional(),
    /** True when password hashes and bridge credentials were included. */
    includesSecrets: z.boolean().default(false),
    queues: z.array(queueDeclarationSchema).max(100_000).default([]).superRefine(unique('queue')),
    roles: z.array(roleDeclarationSchema).max(10_000).default([]).superRefine(unique('role')),
    users: z.array(userDeclarationSchema).max(100_000).default([]).superRefine(unique('user')),
    bridges: z
      .array(bridgeConfigSchema)
      .max(100)
      .default([])
      .superRefine(unique('bridge'))
      .meta({ description: 'Bridges as in the config file; credentials only in a document exported with secrets' }),
    listeners: listenersDeclarationSchema.default({}),
    pushConsumers: z.array(pushConsumerConfigSchema).max(1000).default([]).superRefine(unique('push consumer')).meta({
      description: `HTTP push consumers (docs/push.md); their secrets only in a document exported with secrets, else "********"`,
    }),
  })
  .meta({
    title: 'Sluice configuration document',
    description: 'Written by `sluice config export`, read by `sluice config import` (docs/handover.md)',
  });

/** A parsed configuration document. */
export type ConfigDocument = z.infer<typeof configDocumentSchema>;
/** A configuration document as written. */
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;
/** A declared queue. */
export type QueueDeclaration = z.infer<typeof queueDeclarationSchema>;

/**
 * Parses a document, refusing one this build does not understand with the first problems named
 * by their JSON path (e.g. `queues[2].overflow`). Nothing is applied from a refused document.
 */
export function parseConfigDocument(value: unknown): ConfigDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SluiceError('invalid-config-document', 'a configuration document is a JSON object');
  const { format, version } = value as { format?: unknown; version?: unknown };
  if (format !== configDocumentFormat)
    throw new SluiceError(
      'invalid-config-document',
      `format is ${JSON.stringify(format)}, expected "${configDocumentFormat}" (is this a Sluice export?)`,
    );
  if (version !== configDocumentVersion)
    throw new SluiceError(
      'invalid-config-document',
      typeof version === 'number' && version > configDocumentVersion
        ? `version ${version} is newer than this Sluice understands (${configDocumentVersion}); import it with a newer Sluice`
        : `version ${JSON.stringify(version)} is not a known document version (expected ${configDocumentVersion})`,
    );
  const parsed = configDocumentSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 10).map((issue) => {
    const path = issue.path.reduce<string>(
      (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)),
      '',
    );
    const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
    return `${path || 'document'}: ${issue.message}${keys}`;
  });
  const more = parsed.error.issues.length > 10 ? `; and ${parsed.error.issues.length - 10} more` : '';
  throw new SluiceError('invalid-config-document', `${problems.join('; ')}${more}`);
}

/** The document's JSON Schema (draft 2020-12), published at GET /api/v1/config/schema. */
export function configDocumentJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configDocumentSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
