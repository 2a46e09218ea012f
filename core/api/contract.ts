/**
 * The one typed API contract (STYLE.md §9, after ts-rest): every operation declared as data —
 * summary, zod input and output, the error codes it may answer with, and its HTTP binding.
 * The service, the HTTP routes, the OpenAPI document, the typed client and the CLI are all
 * derived from this table, so an operation is added here once.
 *
 * Browser-safe: imports only zod, the error catalog and the pure schema modules.
 *
 * Wire conventions:
 * - Message, entry, dead-message and replay ids are decimal strings (DESIGN.md: ids are strings).
 * - Times are milliseconds since the Unix epoch (numbers); durations end in `Ms`.
 * - Payloads travel as `payload` + `payloadEncoding`: `utf8` text when the bytes are valid
 *   UTF-8, otherwise `base64`. Inputs choose their encoding (default `utf8`).
 * - HTTP: path params and (for GET/DELETE) query parameters, or a JSON body, together form the
 *   input object; errors are `application/problem+json` (see `problemSchema`).
 */
import type { z } from 'zod';
import { SluiceError, type ErrorCode } from '../errors.ts';
import type { Operation } from './contract/operation.ts';
import { adminOperations } from './contract/ops-admin.ts';
import { journeyOperations } from './contract/ops-journey.ts';
import { messageOperations } from './contract/ops-messages.ts';
import { queueOperations } from './contract/ops-queues.ts';
import { securityOperations } from './contract/ops-security.ts';
import { sparkplugOperations } from './contract/ops-sparkplug.ts';
import type {
  problemSchema,
  messageSchema,
  queueInfoSchema,
  deadMessageSchema,
  ratesSchema,
  statsSchema,
  brokerEventSchema,
  messageEventSchema,
  topicsEventSchema,
  topicNodeSchema,
} from './contract/wire.ts';
import type {
  demoStatusSchema,
  demoScenarioSchema,
  configImportResultSchema,
  backupStatusSchema,
} from './contract/admin-schemas.ts';

export * from './contract/wire.ts';
export * from './contract/admin-schemas.ts';
export * from './contract/operation.ts';

/** Every operation of the Sluice API (declared by area in core/api/contract/ops-*.ts). */
export const contract = {
  ...queueOperations,
  ...messageOperations,
  ...securityOperations,
  ...adminOperations,
  ...sparkplugOperations,
  ...journeyOperations,
} as const satisfies Record<string, Operation>;

// ── types, from z.infer only ─────────────────────────────────────────────────────────

/** The contract's type. */
export type Contract = typeof contract;
/** Name of any operation. */
export type OperationName = keyof Contract;
/** Operations whose answer is an NDJSON stream. */
export type StreamOperationName = {
  [N in OperationName]: Contract[N] extends { readonly response?: 'ndjson' } ? N : never;
}[OperationName];
/** Operations that are live event subscriptions. */
export type EventOperationName = {
  [N in OperationName]: Contract[N] extends { readonly response?: 'events' } ? N : never;
}[OperationName];
/** Operations answering one JSON document. */
export type UnaryOperationName = Exclude<OperationName, StreamOperationName | EventOperationName>;
/** What a caller passes (defaults not yet applied). */
export type OperationInput<N extends OperationName> = z.input<Contract[N]['input']>;
/** The input after validation (defaults applied). */
export type ParsedInput<N extends OperationName> = z.output<Contract[N]['input']>;
/** What an operation answers (for streams: one line). */
export type OperationOutput<N extends OperationName> = z.output<Contract[N]['output']>;
/** A problem+json error body. */
export type Problem = z.infer<typeof problemSchema>;
/** A message on the wire. */
export type WireMessage = z.infer<typeof messageSchema>;
/** A queue on the wire. */
export type WireQueueInfo = z.infer<typeof queueInfoSchema>;
/** A dead message on the wire. */
export type WireDeadMessage = z.infer<typeof deadMessageSchema>;
/** Message rates. */
export type Rates = z.infer<typeof ratesSchema>;
/** Broker stats on the wire. */
export type WireStats = z.infer<typeof statsSchema>;
/** One live event. */
export type BrokerEvent = z.infer<typeof brokerEventSchema>;
/** A live message event. */
export type MessageEvent = z.infer<typeof messageEventSchema>;
/** A coalesced topic tree frame. */
export type TopicsEvent = z.infer<typeof topicsEventSchema>;
/** A demo run's status. */
export type DemoStatus = z.infer<typeof demoStatusSchema>;
/** A demo scenario as listed. */
export type DemoScenario = z.infer<typeof demoScenarioSchema>;
/** One topic of the topic tree. */
export type TopicNode = z.infer<typeof topicNodeSchema>;
/** What a configuration import did or would do. */
export type ConfigImportResult = z.infer<typeof configImportResultSchema>;
/** An online backup's progress. */
export type BackupStatus = z.infer<typeof backupStatusSchema>;

/** All operation names, in declaration order. */
export const operationNames = Object.keys(contract) as OperationName[];

// ── helpers every transport shares ───────────────────────────────────────────────────

/** Explains zod issues in one line: `field.path: problem; …`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'input'}: ${issue.message}`)
    .join('; ');
}

/**
 * Validates an operation's input (STYLE.md §9: inputs parsed at every edge). A failed check
 * from a schema module keeps its own code (invalid-topic, invalid-queue-name…), else invalid-input.
 */
export function parseInput<N extends OperationName>(name: N, input: unknown): ParsedInput<N> {
  const result = contract[name].input.safeParse(input ?? {});
  if (result.success) return result.data as ParsedInput<N>;
  const issues = result.error.issues;
  const coded = issues.find((issue) => issue.code === 'custom' && typeof issue.params?.code === 'string');
  const code = (coded?.code === 'custom' ? coded.params?.code : undefined) as ErrorCode | undefined;
  throw new SluiceError(code ?? 'invalid-input', describeIssues(issues));
}

/** What an input field is under its optional/default/nullable wrappers (for query strings and CLI flags). */
export function fieldType(schema: z.ZodType): { type: string; nullable: boolean; values?: readonly string[] } {
  let def = schema.def as { type: string; innerType?: z.ZodType; entries?: Record<string, string> };
  let nullable = false;
  while (def.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type)) {
    if (def.type === 'nullable') nullable = true;
    def = def.innerType.def as typeof def;
  }
  return { type: def.type, nullable, ...(def.entries && { values: Object.values(def.entries) }) };
}

/** Names of the `:params` in an HTTP path template, in order. */
export function pathParamNames(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.startsWith(':'))
    .map((segment) => segment.slice(1).split(':')[0]!.replace(/\*$/, ''));
}

/** Fills a path template from input fields (URI-encoded, so `mqtt/plc-7` stays one segment). */
export function fillPath(path: string, input: Readonly<Record<string, unknown>>): string {
  return path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment;
      const [name, ...verb] = segment.slice(1).split(':');
      const suffix = verb.length > 0 ? `:${verb.join(':')}` : '';
      const value = String(input[name!.replace(/\*$/, '')] ?? '');
      // A rest field (`:topic*`) keeps its slashes as path separators; each level is encoded.
      const encoded = name!.endsWith('*')
        ? value.split('/').map(encodeURIComponent).join('/')
        : encodeURIComponent(value);
      return `${encoded}${suffix}`;
    })
    .join('/');
}
