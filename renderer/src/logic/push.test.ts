import { describe, expect, it } from 'vitest';
import {
  newPushFields,
  pushAlarms,
  pushFieldsOf,
  pushInputOf,
  type WirePushConsumer,
  type WirePushStatus,
} from './push.ts';

const status: WirePushStatus = {
  name: 'sap',
  queue: 'erp',
  url: 'https://sap.local/orders',
  enabled: true,
  state: 'endpoint-down',
  backlog: 12,
  inFlight: 0,
  delivered: 3,
  retried: 9,
  rejected: 2,
  ratePerSecond: 0,
  lastStatusCode: null,
  lastError: { message: 'ECONNREFUSED', at: 0 },
  lastSuccessAt: 1000,
  sinceLastSuccessMs: 90_000,
  consecutiveFailures: 9,
  nextAttemptAt: null,
  alarms: ['endpoint-down', 'messages-rejected'],
};

describe('push alarms', () => {
  it('an unreachable endpoint is a danger line naming the waiting queue, with the last error', () => {
    const [down, rejected] = pushAlarms([status]);
    expect(down).toMatchObject({
      severity: 'danger',
      view: 'queues',
      text: 'Push sap: endpoint unreachable, queue erp waits',
    });
    expect(down!.detail).toContain('backlog 12');
    expect(down!.detail).toContain('last error: ECONNREFUSED');
    expect(rejected).toMatchObject({ severity: 'warn', view: 'dead' });
    expect(rejected!.text).toContain('rejected 2 messages');
  });
  it('no alarms, no lines', () => {
    expect(pushAlarms([{ ...status, alarms: [] }])).toEqual([]);
  });
});

describe('push form', () => {
  it('turns the fields into a push.put input', () => {
    const result = pushInputOf('erp', {
      ...newPushFields,
      name: 'sap',
      url: 'https://sap.local/orders',
      authType: 'bearer',
      secret: 'tok',
      headers: 'X-System: sluice\nX-Plant: 7',
      concurrency: '4',
      rejectStatuses: '400, 409',
    });
    expect(result).toMatchObject({
      ok: true,
      input: {
        queue: 'erp',
        name: 'sap',
        auth: { type: 'bearer', token: 'tok' },
        headers: { 'X-System': 'sluice', 'X-Plant': '7' },
        concurrency: 4,
        rejectStatuses: [400, 409],
      },
    });
  });
  it('refuses a 5xx as a rejecting status and a header line without a colon', () => {
    expect(pushInputOf('erp', { ...newPushFields, name: 'x', rejectStatuses: '500' })).toMatchObject({ ok: false });
    expect(pushInputOf('erp', { ...newPushFields, name: 'x', headers: 'oops' })).toMatchObject({ ok: false });
  });
  it('editing keeps the stored secret: the form shows the placeholder and sends it back', () => {
    const view = {
      source: 'api',
      status,
      config: {
        name: 'sap',
        queue: 'erp',
        url: 'https://sap.local/orders',
        method: 'POST',
        headers: {},
        auth: { type: 'basic', username: 'u', password: '********' },
        tls: { rejectUnauthorized: true },
        timeoutMs: 10000,
        concurrency: 1,
        retry: { initialDelayMs: 1000, maxDelayMs: 60000, maxRetryAfterMs: 300000 },
        rejectStatuses: [400, 422],
        enabled: true,
      },
    } satisfies WirePushConsumer;
    const fields = pushFieldsOf(view);
    expect(fields.secret).toBe('********');
    expect(pushInputOf('erp', fields)).toMatchObject({
      ok: true,
      input: { auth: { type: 'basic', username: 'u', password: '********' } },
    });
  });
});
