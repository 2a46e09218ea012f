// The contract is complete everywhere it is derived: service, HTTP routes, OpenAPI, CLI.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { contract, fieldType, fillPath, operationNames, parseInput, pathParamNames } from '../../core/api/contract.ts';
import { createService } from '../../core/api/service.ts';
import { clientCommands, specialCommands } from '../../core/cli.ts';
import { SluiceError } from '../../core/errors.ts';
import { buildOpenApi, openApiPath } from '../../core/protocols/http/openapi.ts';
import { matchRoute } from '../../core/protocols/http/routes.ts';
import { openTestEngine } from '../helpers/engine.ts';

describe('API contract', () => {
  it('every operation is implemented by the service', async () => {
    const test = await openTestEngine();
    const service = createService(test.engine);
    assert.deepEqual([...service.operations].sort(), [...operationNames].sort());
    service.close();
    await test.cleanup();
  });

  it('every operation has its own route, and its path leads back to it', () => {
    const seen = new Set<string>();
    for (const name of operationNames) {
      const { method, path } = contract[name].http;
      const key = `${method} ${openApiPath(path)}`;
      assert.ok(!seen.has(key), `${key} is bound twice`);
      seen.add(key);
      const sample = fillPath(path, Object.fromEntries(pathParamNames(path).map((p) => [p, 'mqtt/plc-7'])));
      const match = matchRoute(method, sample);
      assert.equal(match.kind === 'found' && match.route.name, name, `${method} ${sample}`);
      if (match.kind === 'found')
        for (const param of pathParamNames(path)) assert.equal(match.params[param], 'mqtt/plc-7');
    }
  });

  it('the OpenAPI document lists every route with its method and operation id', () => {
    const doc = buildOpenApi('test') as { paths: Record<string, Record<string, { operationId: string }>> };
    for (const name of operationNames) {
      const { method, path } = contract[name].http;
      assert.equal(doc.paths[openApiPath(path)]?.[method.toLowerCase()]?.operationId, name, name);
    }
    assert.ok(doc.paths['/healthz'] && doc.paths['/readyz']);
  });

  it('GET and DELETE inputs are scalars or lists of strings, so they fit a query string', () => {
    for (const name of operationNames) {
      const { input, http } = contract[name];
      if (http.method !== 'GET' && http.method !== 'DELETE') continue;
      for (const field of Object.values((input as { shape?: Record<string, z.ZodType> }).shape ?? {})) {
        const { type } = fieldType(field);
        if (type === 'array') {
          // A repeated query parameter: `?topics=a/%23&topics=b`.
          let element = field.def as { type: string; innerType?: z.ZodType; element?: z.ZodType };
          while (element.innerType) element = element.innerType.def as typeof element;
          assert.equal(
            element.element && fieldType(element.element).type,
            'string',
            `${name} has a list of non-strings`,
          );
        } else assert.ok(['string', 'number', 'boolean', 'enum'].includes(type), `${name} has a ${type} field`);
      }
    }
  });

  it('every operation can be run from the CLI', () => {
    const covered = new Set([...clientCommands, ...specialCommands].map((command) => command.op));
    assert.deepEqual([...covered].sort(), [...operationNames].sort());
  });

  it('a failed check from a schema module keeps its error code', () => {
    const codeOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error instanceof SluiceError ? error.code : 'not a SluiceError';
      }
      return 'accepted';
    };
    assert.equal(
      codeOf(() => parseInput('messages.publish', { topic: 'a/#' })),
      'invalid-topic',
    );
    assert.equal(
      codeOf(() => parseInput('queues.get', { name: 'a b' })),
      'invalid-queue-name',
    );
    assert.equal(
      codeOf(() => parseInput('queues.create', { name: 'q', subscriptions: ['a#'] })),
      'invalid-topic-filter',
    );
    assert.equal(
      codeOf(() => parseInput('queues.get', {})),
      'invalid-input',
    );
    assert.equal(
      codeOf(() => parseInput('queues.get', { name: 'ok' })),
      'accepted',
    );
  });

  it('an update names only the fields it changes (no defaults filled in)', () => {
    assert.deepEqual(parseInput('queues.update', { name: 'q', maxRedelivery: 2 }), { name: 'q', maxRedelivery: 2 });
  });
});
