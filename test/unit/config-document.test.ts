// The configuration document's parser and the export's secret filter (docs/handover.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutSecrets } from '../../core/api/config-transfer.ts';
import { SluiceError } from '../../core/errors.ts';
import { configDocumentJsonSchema, parseConfigDocument } from '../../core/schema/config-document.ts';

const refusal = (value: unknown): string => {
  try {
    parseConfigDocument(value);
  } catch (error) {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'invalid-config-document');
    return error.detail;
  }
  assert.fail('the document was accepted');
};

describe('configuration document', () => {
  it('fills defaults for a minimal document', () => {
    const document = parseConfigDocument({ format: 'sluice-config', version: 1, queues: [{ name: 'q' }] });
    assert.equal(document.queues[0]!.deadMessageQueue, '#DMQ');
    assert.deepEqual(document.users, []);
    assert.equal(document.includesSecrets, false);
  });

  it('names the place of every problem it refuses', () => {
    assert.match(refusal([]), /a JSON object/);
    assert.match(refusal({ format: 'sluice-config', version: 0 }), /version 0 is not a known document version/);
    assert.match(refusal({ format: 'sluice-config', version: 1, queues: [{ name: 'a b' }] }), /queues\[0\]\.name/);
    assert.match(
      refusal({ format: 'sluice-config', version: 1, queues: [{ name: 'q' }, { name: 'q' }] }),
      /queue "q" appears twice/,
    );
    assert.match(
      refusal({ format: 'sluice-config', version: 1, roles: [{ name: 'no spaces', rules: [] }] }),
      /roles\[0\]\.name/,
    );
    assert.match(
      refusal({ format: 'sluice-config', version: 1, users: [{ name: 'u', roles: [], passwordHash: 'hunter2' }] }),
      /users\[0\]\.passwordHash: a password hash is scrypt/,
    );
    assert.match(refusal({ format: 'sluice-config', version: 1, extra: 1 }), /document: .*extra/);
  });

  it('has a JSON Schema that requires the format and version', () => {
    const schema = configDocumentJsonSchema() as { required: string[]; properties: Record<string, unknown> };
    assert.ok(schema.required.includes('format') && schema.required.includes('version'));
    assert.ok('queues' in schema.properties && 'listeners' in schema.properties);
  });
});

describe('export without secrets', () => {
  it('drops passwords and TLS private keys wherever they are, and says where', () => {
    const removed: string[] = [];
    const clean = withoutSecrets(
      {
        mqtt: { tls: { cert: '/c.pem', key: '/k.pem' }, tcp: { port: 1883 } },
        bridges: [{ name: 'b', credentials: { username: 'u', password: 'p' }, tls: { key: 'PEM' } }],
      },
      removed,
    );
    assert.deepEqual(clean, {
      mqtt: { tls: { cert: '/c.pem' }, tcp: { port: 1883 } },
      bridges: [{ name: 'b', credentials: { username: 'u' }, tls: {} }],
    });
    assert.deepEqual(removed, ['mqtt.tls.key', 'bridges[0].credentials.password', 'bridges[0].tls.key']);
  });
});
