/** The OpenAPI 3.1 document, generated from the contract (STYLE.md §9: derived, never hand-written). */
import { z } from 'zod';
import {
  commonErrors,
  contract,
  operationNames,
  pathParamNames,
  problemSchema,
  type Operation,
} from '../../api/contract.ts';
import { errorCatalog } from '../../errors.ts';

type JsonSchema = {
  properties?: Record<string, unknown>;
  required?: string[];
  [key: string]: unknown;
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // Refinements (topic and queue-name checks) are not expressible; they are described in text.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** Headers a raw publish reads (core/protocols/http/publish.ts). */
const rawPublishHeaders: ReadonlyArray<readonly [string, string]> = [
  ['Sluice-TTL', 'Time to live in ms'],
  ['Sluice-Priority', 'Priority 0–9'],
  ['Sluice-DMQ-Eligible', 'true/false: dead-letter (true, default) or discard when it dies'],
  ['Sluice-Correlation-Id', 'Correlation id'],
  ['Sluice-Reply-To', 'Reply-to address'],
  ['Sluice-*', 'Any other Sluice-<name> header becomes message header <name>'],
];

/** `/queues/:name` → `/queues/{name}`; a rest field `:topic*` → `{topic}` (its slashes are literal). */
export function openApiPath(path: string): string {
  // Only a segment's leading `:name` is a parameter; `messages:purge` and `{id}:cancel` keep their verb.
  return path.replace(/\/:([A-Za-z]\w*)\*?/g, '/{$1}');
}

function describeOperation(name: string, op: Operation) {
  const { method, path } = op.http;
  const input = jsonSchema(op.input, 'input');
  const properties = input.properties ?? {};
  const required = new Set(input.required ?? []);
  const inPath = pathParamNames(path);
  const parameters: object[] = inPath.map((param) => ({
    name: param,
    in: 'path',
    required: true,
    schema: properties[param],
  }));
  let requestBody: object | undefined;
  const rest = Object.keys(properties).filter((key) => !inPath.includes(key));
  if (method === 'GET' || method === 'DELETE') {
    for (const key of rest)
      parameters.push({ name: key, in: 'query', required: required.has(key), schema: properties[key] });
  } else if (op.http.body === 'raw') {
    requestBody = {
      required: false,
      description: 'The message payload, as is',
      content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
    };
    for (const [header, about] of rawPublishHeaders)
      parameters.push({ name: header, in: 'header', required: false, description: about, schema: { type: 'string' } });
  } else if (rest.length > 0) {
    const body = {
      ...input,
      properties: Object.fromEntries(rest.map((key) => [key, properties[key]])),
      required: [...required].filter((key) => !inPath.includes(key)),
    };
    requestBody = { required: true, content: { 'application/json': { schema: body } } };
  }
  const media = { json: 'application/json', ndjson: 'application/x-ndjson', events: 'text/event-stream' }[
    op.response ?? 'json'
  ];
  const described = {
    json: 'Success',
    ndjson: 'One JSON document per line',
    events: 'Server-sent events: `event: <type>` and `data: <one event as JSON>`; `: ping` comments keep it alive',
  }[op.response ?? 'json'];
  const responses: Record<string, object> = {
    [String(op.http.status ?? 200)]: {
      description: described,
      content: { [media]: { schema: jsonSchema(op.output, 'output') } },
    },
  };
  const byStatus = new Map<number, string[]>();
  for (const code of new Set([...op.errors, ...commonErrors])) {
    const { http } = errorCatalog[code];
    byStatus.set(http, [...(byStatus.get(http) ?? []), `${code} (${errorCatalog[code].title})`]);
  }
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b))
    responses[String(status)] = {
      description: codes.join(', '),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  return {
    operationId: name,
    summary: op.summary,
    tags: [name.split('.')[0]],
    parameters,
    ...(requestBody && { requestBody }),
    responses,
  };
}

/** Builds the OpenAPI document for every contract operation plus the probes. */
export function buildOpenApi(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const name of operationNames) {
    const op: Operation = contract[name];
    const path = openApiPath(op.http.path);
    paths[path] = { ...paths[path], [op.http.method.toLowerCase()]: describeOperation(name, op) };
  }
  const probe = (summary: string) => ({
    get: { summary, responses: { '200': { description: 'Yes' }, '503': { description: 'No' } } },
  });
  paths['/healthz'] = probe('Liveness: the process answers');
  paths['/readyz'] = probe('Readiness: the broker accepts work (not shutting down)');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice API',
      version,
      description:
        'Ids are decimal strings; times are ms since the Unix epoch; payloads are utf8 text when valid, else base64 (payloadEncoding).',
    },
    paths,
    components: { schemas: { Problem: jsonSchema(problemSchema, 'output') } },
  };
}
