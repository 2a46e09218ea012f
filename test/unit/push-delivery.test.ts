import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SluiceError } from '../../core/errors.ts';
import { classify, parseRetryAfter, requestHeaders } from '../../core/protocols/push/http-delivery.ts';
import { parseWithSecrets } from '../../core/protocols/push/index.ts';
import { backoffDelayMs } from '../../core/pacing.ts';
import { pushConsumerConfigSchema, redactPushConfig } from '../../core/schema/push-config.ts';

const config = pushConsumerConfigSchema.parse({ name: 'sap', queue: 'erp', url: 'http://127.0.0.1:1/x' });

describe('outcome mapping', () => {
  it('2xx acknowledges', () => assert.deepEqual(classify(config, 204, ''), { kind: 'ack', status: 204 }));
  it('a status in rejectStatuses rejects with the status and the body excerpt', () =>
    assert.deepEqual(classify(config, 422, ' bad qty \n'), {
      kind: 'reject',
      status: 422,
      error: 'HTTP 422: bad qty',
    }));
  it('429, 5xx and other 4xx are retried, with Retry-After when given', () => {
    assert.deepEqual(classify(config, 429, '', '7'), {
      kind: 'retry',
      status: 429,
      error: 'HTTP 429',
      retryAfterMs: 7000,
      unreachable: false,
    });
    assert.equal(classify(config, 503, 'busy').kind, 'retry');
    assert.equal(classify(config, 404, '').kind, 'retry');
  });
  it('Retry-After as an HTTP date is the time until then; garbage is ignored', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('soon', now), null);
  });
});

describe('backoff', () => {
  it('doubles from the initial delay up to the cap, with at most half of it random', () => {
    assert.equal(
      backoffDelayMs(1, 100, 1000, () => 0),
      50,
    );
    assert.equal(
      backoffDelayMs(3, 100, 1000, () => 1),
      400,
    );
    assert.equal(
      backoffDelayMs(30, 100, 1000, () => 1),
      1000,
    );
  });
});

describe('request headers', () => {
  it('carry the message properties as Sluice-* headers and authentication last', () => {
    const headers = requestHeaders(
      { ...config, headers: { Authorization: 'spoofed' }, auth: { type: 'bearer', token: 't' } },
      {
        id: '42',
        timestamp: 1,
        topic: 'a/b',
        payload: Buffer.from('x'),
        headers: { line: 'L1', 'bad name': 'dropped', unit: 'Grad °C' },
        priority: 4,
        expiresAt: null,
        dmqEligible: true,
      },
      { queue: 'erp', deliveryCount: 2, redelivered: true },
    );
    assert.equal(headers.authorization, 'Bearer t');
    assert.equal(headers['sluice-message-id'], '42');
    assert.equal(headers['sluice-line'], 'L1');
    assert.equal(headers['sluice-unit'], 'Grad%20%C2%B0C');
    assert.equal(headers['sluice-bad name'], undefined);
    assert.equal(headers['sluice-delivery-count'], '2');
    assert.equal(headers['content-type'], 'application/octet-stream');
  });
});

describe('secrets', () => {
  it('are redacted for the API and kept on an update that leaves them out or sends the placeholder', () => {
    const stored = parseWithSecrets({ ...config, auth: { type: 'basic', username: 'u', password: 'p' } }, undefined);
    const redacted = redactPushConfig(stored);
    assert.deepEqual(redacted.auth, { type: 'basic', username: 'u', password: '********' });
    assert.deepEqual(parseWithSecrets(redacted, stored).auth, stored.auth);
    assert.deepEqual(parseWithSecrets({ ...config, auth: { type: 'basic', username: 'u' } }, stored).auth, stored.auth);
  });
  it('are not carried over to another origin: a changed endpoint needs them given again', () => {
    const stored = parseWithSecrets({ ...config, auth: { type: 'bearer', token: 'for-sap-only' } }, undefined);
    assert.throws(
      () => parseWithSecrets({ ...config, url: 'https://elsewhere.example/x', auth: { type: 'bearer' } }, stored),
      (error: SluiceError) => error.code === 'invalid-input' && error.detail.startsWith('auth.token'),
    );
    assert.deepEqual(
      parseWithSecrets({ ...config, url: 'http://127.0.0.1:1/other-path', auth: { type: 'bearer' } }, stored).auth,
      { type: 'bearer', token: 'for-sap-only' },
      'same origin, other path: kept',
    );
  });
  it('a new bearer push consumer without a token is refused', () => {
    assert.throws(
      () => parseWithSecrets({ ...config, auth: { type: 'bearer' } }, undefined),
      (error: SluiceError) => error.code === 'invalid-input' && error.detail.startsWith('auth.token'),
    );
  });
});
