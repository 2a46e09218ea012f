/**
 * Push consumers as the UI words them (docs/push.md): the Overview's alarm lines and the Queues
 * view's push form (text fields ↔ the `push.put` input). Pure, so both are unit-tested.
 */
import type { OperationInput, OperationOutput } from '../../../core/api/contract.ts';
import { redactedSecret } from '../../../core/schema/push-config.ts';
import type { Alarm } from './alarms.ts';
import { duration } from './format.ts';

/** One push consumer's status over the API. */
export type WirePushStatus = OperationOutput<'push.status'>['pushConsumers'][number];
/** One push consumer as `push.list` shows it (secrets redacted). */
export type WirePushConsumer = OperationOutput<'push.list'>['pushConsumers'][number];

/** The Overview's alarm lines for push consumers: an endpoint down is danger, the rest warn. */
export function pushAlarms(statuses: readonly WirePushStatus[]): Alarm[] {
  return statuses.flatMap((s) =>
    s.alarms.map((alarm): Alarm => {
      const detail = [
        s.url,
        `backlog ${s.backlog}`,
        `last success ${s.lastSuccessAt === null ? 'never' : `${duration(s.sinceLastSuccessMs)} ago`}`,
        s.lastError ? `last error: ${s.lastError.message}` : undefined,
      ]
        .filter(Boolean)
        .join(' · ');
      const text =
        alarm === 'endpoint-down'
          ? `Push ${s.name}: endpoint unreachable, queue ${s.queue} waits`
          : alarm === 'messages-rejected'
            ? `Push ${s.name}: the endpoint rejected ${s.rejected} message${s.rejected === 1 ? '' : 's'} (in the DMQ)`
            : `Push ${s.name}: queue ${s.queue} does not exist`;
      return {
        severity: alarm === 'endpoint-down' ? 'danger' : 'warn',
        text,
        detail,
        view: alarm === 'messages-rejected' ? 'dead' : 'queues',
        key: `push-${s.name}-${alarm}`,
      };
    }),
  );
}

/** The push form's text fields. */
export interface PushFields {
  name: string;
  url: string;
  method: 'POST' | 'PUT';
  authType: 'none' | 'basic' | 'bearer' | 'header';
  /** Basic user name, or the custom header's name. */
  authName: string;
  /** Password, token or header value; the redacted placeholder keeps the stored one. */
  secret: string;
  /** One `Name: value` per line. */
  headers: string;
  concurrency: string;
  timeoutMs: string;
  initialDelayMs: string;
  maxDelayMs: string;
  /** Comma-separated 4xx statuses. */
  rejectStatuses: string;
  ca: string;
  /** A client certificate set through the API or CLI: kept as is (its key stays stored). */
  clientCert: string;
  enabled: boolean;
}

export const newPushFields: PushFields = {
  name: '',
  url: 'http://127.0.0.1:8081/',
  method: 'POST',
  authType: 'none',
  authName: '',
  secret: '',
  headers: '',
  concurrency: '1',
  timeoutMs: '10000',
  initialDelayMs: '1000',
  maxDelayMs: '60000',
  rejectStatuses: '400, 422',
  ca: '',
  clientCert: '',
  enabled: true,
};

/** The form filled from an existing push consumer (its secret shown as the placeholder). */
export function pushFieldsOf(view: WirePushConsumer): PushFields {
  const c = view.config;
  const auth = c.auth;
  return {
    name: c.name,
    url: c.url,
    method: c.method,
    authType: auth.type,
    authName: auth.type === 'basic' ? auth.username : auth.type === 'header' ? auth.name : '',
    secret: auth.type === 'none' ? '' : redactedSecret,
    headers: Object.entries(c.headers)
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n'),
    concurrency: String(c.concurrency),
    timeoutMs: String(c.timeoutMs),
    initialDelayMs: String(c.retry.initialDelayMs),
    maxDelayMs: String(c.retry.maxDelayMs),
    rejectStatuses: c.rejectStatuses.join(', '),
    ca: c.tls.ca ?? '',
    clientCert: c.tls.cert ?? '',
    enabled: c.enabled,
  };
}

/** The `push.put` input from the form, or the first problem found. */
export function pushInputOf(
  queue: string,
  f: PushFields,
): { ok: true; input: OperationInput<'push.put'> } | { ok: false; problem: string } {
  const integer = (label: string, text: string, min: number) => {
    const value = Number(text.trim());
    return Number.isInteger(value) && value >= min ? value : `${label} must be a whole number ≥ ${min}`;
  };
  const concurrency = integer('Concurrency', f.concurrency, 1);
  const timeoutMs = integer('Timeout', f.timeoutMs, 1);
  const initialDelayMs = integer('First retry delay', f.initialDelayMs, 1);
  const maxDelayMs = integer('Longest retry delay', f.maxDelayMs, 1);
  for (const value of [concurrency, timeoutMs, initialDelayMs, maxDelayMs])
    if (typeof value === 'string') return { ok: false, problem: value };
  const rejectStatuses = f.rejectStatuses
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (rejectStatuses.some((s) => !Number.isInteger(s) || s < 400 || s > 499))
    return { ok: false, problem: 'Rejecting statuses are 4xx codes, separated by commas' };
  const headers: Record<string, string> = {};
  for (const line of f.headers.split('\n').filter((l) => l.trim() !== '')) {
    const at = line.indexOf(':');
    if (at <= 0) return { ok: false, problem: `Header line "${line}" needs "Name: value"` };
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  if (f.name.trim() === '') return { ok: false, problem: 'Give it a name' };
  const secret = f.secret === '' ? undefined : f.secret;
  const auth: OperationInput<'push.put'>['auth'] =
    f.authType === 'basic'
      ? { type: 'basic', username: f.authName.trim(), ...(secret !== undefined && { password: secret }) }
      : f.authType === 'bearer'
        ? { type: 'bearer', ...(secret !== undefined && { token: secret }) }
        : f.authType === 'header'
          ? { type: 'header', name: f.authName.trim(), ...(secret !== undefined && { value: secret }) }
          : { type: 'none' };
  return {
    ok: true,
    input: {
      queue,
      name: f.name.trim(),
      url: f.url.trim(),
      method: f.method,
      headers,
      auth,
      tls: {
        ...(f.ca.trim() !== '' && { ca: f.ca.trim() }),
        ...(f.clientCert !== '' && { cert: f.clientCert, key: redactedSecret }),
      },
      concurrency: concurrency as number,
      timeoutMs: timeoutMs as number,
      retry: { initialDelayMs: initialDelayMs as number, maxDelayMs: maxDelayMs as number },
      rejectStatuses,
      enabled: f.enabled,
    },
  };
}
