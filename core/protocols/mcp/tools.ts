/**
 * MCP tools, derived from the contract like the CLI's commands (STYLE.md §9): each tool names
 * its operation; its description is the operation's summary, its input schema the operation's
 * zod input as JSON Schema, and a call runs `service.call` with the agent's principal, so the
 * same authorize() decides and the same audit log records (protocol `mcp`).
 */
import { z } from 'zod';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { contract, type OperationName, type UnaryOperationName } from '../../api/contract.ts';
import type { CallContext, Service } from '../../api/service.ts';
import { toSluiceError } from '../../errors.ts';
import type { Action, Principal } from '../../security/authorize.ts';
import { fitToBudget, previewPayloads, summarise, type ResultLimits } from './results.ts';

/** How a tool changes the broker, for the MCP annotations. */
type Effect = 'read' | 'write' | 'destructive';

/** The operations an agent gets, with what they do to the broker. */
export const toolOperations = {
  'stats.get': 'read',
  'topics.tree': 'read',
  'queues.list': 'read',
  'queues.get': 'read',
  'queues.browse': 'read',
  'queues.create': 'write',
  'queues.update': 'write',
  'queues.purge': 'destructive',
  'queues.delete': 'destructive',
  'dmq.list': 'read',
  'dmq.counts': 'read',
  'dmq.get': 'read',
  'messages.journey': 'read',
  'dmq.redeliver': 'write',
  'dmq.purge': 'destructive',
  'dmq.export': 'read',
  'replay.start': 'write',
  'replay.get': 'read',
  'replay.list': 'read',
  'replay.cancel': 'write',
  'messages.publish': 'write',
  'connections.list': 'read',
  'connections.disconnect': 'destructive',
  'bridges.status': 'read',
  'audit.list': 'read',
  'auth.whoami': 'read',
} as const satisfies Partial<Record<OperationName, Effect>>;

/** An operation an agent may call as a tool. */
export type ToolOperation = keyof typeof toolOperations;

/** The tool name of an operation: dots become underscores (`dmq.redeliver` → `dmq_redeliver`), as MCP hosts accept. */
export const toolName = (operation: ToolOperation): string => operation.replaceAll('.', '_');

const byToolName = new Map(
  (Object.keys(toolOperations) as ToolOperation[]).map((operation) => [toolName(operation), operation]),
);

/** The operation behind a tool name, or undefined. */
export const operationOfTool = (name: string): ToolOperation | undefined => byToolName.get(name);

/** The operation's input as JSON Schema (what a caller may send: defaults are optional). */
export function inputJsonSchema(operation: ToolOperation): Tool['inputSchema'] {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(contract[operation].input, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return { ...schema, type: 'object' } as Tool['inputSchema'];
}

/** Every tool's declaration, built on first use and kept (schemas do not change at run time). */
let declarations: Map<ToolOperation, Tool> | undefined;
const declarationsOf = () => (declarations ??= declare());

function declare(): Map<ToolOperation, Tool> {
  return new Map<ToolOperation, Tool>(
    (Object.keys(toolOperations) as ToolOperation[]).map((operation) => {
      const effect: Effect = toolOperations[operation];
      const { summary, http } = contract[operation];
      return [
        operation,
        {
          name: toolName(operation),
          title: operation, // the contract operation it runs, as the CLI and the audit log name it
          description:
            operation === 'dmq.export'
              ? `${summary}. Over MCP: a summary (counts per queue and reason, the first messages previewed); use \`sluice dmq export --output file\` for the whole file`
              : summary,
          inputSchema: inputJsonSchema(operation),
          annotations: {
            readOnlyHint: effect === 'read',
            destructiveHint: effect === 'destructive',
            idempotentHint: http.method === 'GET' || http.method === 'DELETE' || http.method === 'PATCH',
            openWorldHint: false,
          },
        },
      ];
    }),
  );
}

/** Policies that can say which roles a principal has (the broker's BrokerSecurity). */
interface RolesPolicy {
  rolesOf(principal: Principal): ReadonlyArray<{
    readonly rules: ReadonlyArray<{ readonly actions: readonly string[]; readonly patterns: readonly string[] }>;
  }>;
}

/** A probe input with every field a permission reads a resource from set to a marker. */
const marker = '\u0001';
const probe = { name: marker, queue: marker, topic: marker, filter: { queue: marker }, target: { queue: marker } };

/**
 * May `principal` ever succeed with `operation`? A fixed resource (`#`, `$security`…) is asked
 * of the policy as is; a resource taken from the input needs some rule granting the action.
 * This only hides tools: every call is still authorized by the service.
 */
export function mayUse(service: Service, principal: Principal, operation: ToolOperation): boolean {
  const permission = contract[operation].permission as
    | { kind: 'public' | 'authenticated' }
    | { kind: 'acl'; action: Action; resources(input: unknown): readonly string[] };
  if (permission.kind !== 'acl') return true;
  const resourcesOf = (input: unknown) => {
    try {
      return JSON.stringify(permission.resources(input));
    } catch {
      return undefined; // reads a field an empty input lacks: taken from the input
    }
  };
  const fixed = resourcesOf({});
  if (fixed !== undefined && fixed === resourcesOf(probe))
    return (JSON.parse(fixed) as string[]).every((resource) =>
      service.policy.allows(principal, permission.action, resource),
    );
  const policy = service.policy as Partial<RolesPolicy>;
  if (typeof policy.rolesOf !== 'function') return true;
  return policy
    .rolesOf(principal)
    .some((role) => role.rules.some((rule) => rule.actions.includes('*') || rule.actions.includes(permission.action)));
}

/** The tools `principal` may use, computed per request (rights are live). */
export function listTools(service: Service, principal: Principal): Tool[] {
  return (Object.keys(toolOperations) as ToolOperation[])
    .filter((operation) => mayUse(service, principal, operation))
    .map((operation) => declarationsOf().get(operation)!);
}

/** A refusal or failure as the agent sees it: the same code, title and detail as HTTP's problem+json. */
export function errorResult(thrown: unknown): CallToolResult {
  const error = toSluiceError(thrown);
  const { http: status, title } = error.mapping;
  return {
    isError: true,
    content: [{ type: 'text', text: `${title}: ${error.detail} [${error.code}, HTTP ${status}]` }],
    structuredContent: { error: { code: error.code, title, status, detail: error.detail } },
  };
}

/** Runs a tool call through the service as `context`; refusals come back as error results. */
export async function callTool(
  service: Service,
  context: CallContext,
  name: string,
  args: Record<string, unknown> | undefined,
  limits: ResultLimits,
): Promise<CallToolResult> {
  const operation = operationOfTool(name);
  if (!operation)
    return {
      isError: true,
      content: [{ type: 'text', text: `No tool "${name}"; list the tools to see what this user may use` }],
    };
  try {
    const raw =
      operation === 'dmq.export'
        ? exportSummary(service.stream('dmq.export', args ?? {}, context), limits)
        : await service.call(operation as UnaryOperationName, args ?? {}, context);
    const previewed = previewPayloads(raw, limits.payloadPreviewChars) as Record<string, unknown>;
    const { output, truncation } = fitToBudget(previewed, limits.maxResultBytes);
    return {
      content: [{ type: 'text', text: `${summarise(name, output, truncation)}\n${JSON.stringify(output)}` }],
      structuredContent: output,
    };
  } catch (error) {
    return errorResult(error);
  }
}

/** Reads an NDJSON export through, keeping counts per queue and reason and the first few lines. */
function exportSummary(lines: Iterable<string>, limits: ResultLimits): Record<string, unknown> {
  const first: unknown[] = [];
  const groups = new Map<string, { queue: string; reason: string; count: number }>();
  let exported = 0;
  let bytes = 0;
  for (const line of lines) {
    exported++;
    bytes += line.length;
    const dead = JSON.parse(line) as { queue: string; reason: string };
    const key = `${dead.queue}\u0000${dead.reason}`;
    const group = groups.get(key) ?? { queue: dead.queue, reason: dead.reason, count: 0 };
    group.count++;
    groups.set(key, group);
    if (first.length < 10) first.push(previewPayloads(dead, limits.payloadPreviewChars));
  }
  return {
    exported,
    ndjsonBytes: bytes,
    byQueueAndReason: [...groups.values()],
    first,
    hint: 'the whole export: sluice dmq export --output dead.ndjson (same filter options)',
  };
}
