/**
 * The contract over IPC: what the main process does with a message from the preload. Plain
 * functions over the broker's service with no Electron import, so they are unit-tested under
 * Node (test/unit/electron-ipc.test.ts); main.ts only wires them to ipcMain.
 *
 * Nothing from the renderer is trusted: the request's shape is checked here, the operation name
 * against the contract, and the input by the service's own parse (STYLE.md §9).
 *
 * The window is not the host: it logs in like a browser (docs/security.md), and every call runs
 * as that user, authorized by the service exactly as over HTTP. The session lives here, in the
 * main process, one per window (`IpcSession`): `auth.login` and `auth.setup` keep the bearer
 * token and answer the renderer without it. A token in the renderer would be a credential that
 * page scripts could read and send anywhere (the HTTP door accepts it too); kept here it never
 * leaves the main process, it is bound to the one window that logged in, and it is revoked when
 * that window is destroyed or logs out.
 */
import {
  contract,
  operationNames,
  type BrokerEvent,
  type EventOperationName,
  type OperationName,
  type StreamOperationName,
  type UnaryOperationName,
} from '../core/api/contract.ts';
import type { Broker } from '../core/broker.ts';
import { SluiceError, toSluiceError } from '../core/errors.ts';
import type { IpcEvents, IpcRequest } from './channel.ts';

/** The API service, as the host sees it. */
type Service = Broker['service'];
/** Who a call runs as (the service's CallContext, reached through the broker: the electron layer sees core/api only so). */
type CallContext = NonNullable<Parameters<Service['call']>[2]>;

/** A refused call: the same fields an HTTP problem+json body carries (renderer/src/api/bridge.ts). */
export interface IpcProblem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** The answer to one call; plain data, because IPC's structured clone drops an Error's fields. */
export type IpcAnswer =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: IpcProblem };

const kindOf = (name: OperationName) => contract[name].response ?? 'json';
const operations = new Set<string>(operationNames);

/** The door IPC principals name (audit records, a message's protocol). */
export const ipcProtocol = 'ipc';

/**
 * What `auth.login` and `auth.setup` answer over IPC in place of the bearer token, which stays
 * in the main process (the rest of the answer — user, expiry — is the contract's).
 */
export const tokenKeptByMainProcess = 'kept-by-the-main-process';

/** Checks a message from the renderer is one of the three request kinds; undefined if not. */
export function parseIpcRequest(message: unknown): IpcRequest | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  if (m.kind === 'call' && typeof m.op === 'string') return { kind: 'call', op: m.op, input: m.input };
  if (m.kind === 'subscribe' && Number.isSafeInteger(m.id) && typeof m.stream === 'string')
    return { kind: 'subscribe', id: m.id as number, stream: m.stream, input: m.input };
  if (m.kind === 'unsubscribe' && Number.isSafeInteger(m.id)) return { kind: 'unsubscribe', id: m.id as number };
  return undefined;
}

/**
 * Runs one operation for the renderer as `context` (who the window is logged in as). Streamed
 * operations (exports) answer their lines as an array.
 */
export async function callOperation(
  service: Service,
  op: string,
  input: unknown,
  context: CallContext | (() => Promise<CallContext>),
): Promise<IpcAnswer> {
  if (!operations.has(op) || kindOf(op as OperationName) === 'events')
    return refusal(
      404,
      'route-not-found',
      'No such operation',
      `"${op}" is not a callable operation of the Sluice API`,
    );
  try {
    const name = op as OperationName;
    const caller = typeof context === 'function' ? await context() : context;
    if (kindOf(name) === 'ndjson') {
      const lines = [...service.stream(name as StreamOperationName, input, caller)];
      return { ok: true, value: lines.map((line) => JSON.parse(line) as unknown) };
    }
    return { ok: true, value: await service.call(name as UnaryOperationName, input, caller) };
  } catch (thrown) {
    return problemOf(thrown);
  }
}

/**
 * One window's login and live subscriptions. Calls run as the logged-in user (before a login:
 * anonymous, which the broker refuses with 401 unless anonymous access is on); the operation's
 * permission is checked by the service, the same code path as the HTTP door.
 */
export class IpcSession {
  /** The bearer token of this window's login; never sent to the renderer. */
  private token: string | undefined;
  /** Subscriptions waiting for their authentication, by id → attempt (an unsubscribe cancels). */
  private readonly pending = new Map<number, number>();
  private attempts = 0;
  readonly subscriptions: IpcSubscriptions;

  constructor(
    private readonly service: Service,
    send: (message: IpcEvents) => void,
    options: BatchOptions = defaultBatchOptions,
  ) {
    this.subscriptions = new IpcSubscriptions(service, send, options);
  }

  /** Runs one operation for this window. Login, setup and logout change the session. */
  async call(op: string, input: unknown): Promise<IpcAnswer> {
    if (op === 'auth.login' || op === 'auth.setup') {
      const answer = await callOperation(this.service, op, input, this.publicContext());
      if (!answer.ok) return answer;
      const issued = answer.value as { token: string };
      this.forget(); // a second login replaces the first, whose token is revoked
      this.token = issued.token;
      return { ok: true, value: { ...issued, token: tokenKeptByMainProcess } };
    }
    if (op === 'auth.logout') {
      const answer = await callOperation(this.service, op, input, this.publicContext());
      this.token = undefined;
      this.endSubscriptions(); // the window's views belong to the session that ended
      return answer;
    }
    const permission = operations.has(op) ? contract[op as OperationName].permission.kind : undefined;
    return callOperation(this.service, op, input, () =>
      permission === 'public' ? Promise.resolve(this.publicContext()) : this.context(),
    );
  }

  /** Starts subscription `id` as the logged-in user; a refusal throws a SluiceError. */
  async subscribe(id: number, stream: string, input: unknown): Promise<void> {
    const attempt = ++this.attempts;
    this.pending.set(id, attempt);
    const context = await this.context();
    if (this.pending.get(id) !== attempt) return; // unsubscribed (or replaced) meanwhile
    this.pending.delete(id);
    this.subscriptions.subscribe(id, stream, input, context);
  }

  unsubscribe(id: number): void {
    this.pending.delete(id);
    this.subscriptions.unsubscribe(id);
  }

  /** The page went away (a reload): its subscriptions end, the login stays. */
  endSubscriptions(): void {
    this.pending.clear();
    this.subscriptions.closeAll();
  }

  /** The window closed: its subscriptions end and its token is revoked. */
  close(): void {
    this.endSubscriptions();
    this.forget();
  }

  /** Whether a user is logged in (for main.ts's logs and the tests). */
  get loggedIn(): boolean {
    return this.token !== undefined;
  }

  /** The caller, as the HTTP door establishes it from a bearer token (or anonymous without one). */
  private async context(): Promise<CallContext> {
    const token = this.token;
    const principal = await this.service.policy.authenticate({
      protocol: ipcProtocol,
      ...(token !== undefined && { token }),
    });
    return { principal, ...(token !== undefined && { token }) };
  }

  /** For operations anyone may call (status, login, setup, logout): no authentication. */
  private publicContext(): CallContext {
    return { principal: { user: null, protocol: ipcProtocol }, ...(this.token !== undefined && { token: this.token }) };
  }

  private forget(): void {
    const token = this.token;
    this.token = undefined;
    if (token !== undefined)
      void this.service
        .call('auth.logout', {}, { principal: { user: null, protocol: ipcProtocol }, token })
        .catch(() => undefined); // a broker without security has no tokens to revoke
  }
}

/** How event batches leave for the renderer. */
export interface BatchOptions {
  /** Events wait at most this long to share one IPC message. */
  readonly flushMs: number;
  /** A batch never holds more; beyond it events are dropped and counted, as SSE does for a slow client. */
  readonly maxBatch: number;
}

export const defaultBatchOptions: BatchOptions = { flushMs: 50, maxBatch: 5000 };

/**
 * One window's live subscriptions. Events are batched (at 5k msg/s, one IPC message per event
 * would swamp the renderer) and bounded: a full batch drops events and reports how many with a
 * `dropped` event, exactly like the HTTP door.
 */
export class IpcSubscriptions {
  private readonly active = new Map<number, () => void>();

  constructor(
    private readonly service: Service,
    private readonly send: (message: IpcEvents) => void,
    private readonly options: BatchOptions = defaultBatchOptions,
  ) {}

  /** Starts subscription `id` as `context`; a bad stream name, input or missing right throws a SluiceError. */
  subscribe(id: number, stream: string, input: unknown, context: CallContext): void {
    if (!operations.has(stream) || kindOf(stream as OperationName) !== 'events')
      throw new SluiceError('invalid-input', `"${stream}" is not an event operation of the Sluice API`);
    this.unsubscribe(id);
    let batch: BrokerEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let dropped = 0;
    let totalDropped = 0;
    const flush = () => {
      timer = undefined;
      if (dropped > 0) batch.push({ type: 'dropped', dropped, totalDropped });
      dropped = 0;
      const events = batch;
      batch = [];
      if (events.length > 0) this.send({ id, events });
    };
    const stop = this.service.subscribe(
      stream as EventOperationName,
      input,
      (event) => {
        if (batch.length >= this.options.maxBatch) {
          dropped++;
          totalDropped++;
        } else batch.push(event);
        timer ??= setTimeout(flush, this.options.flushMs);
      },
      context,
      // DESIGN.md: rights are live. The service has stopped it; forget it here too.
      () => {
        clearTimeout(timer);
        if (this.active.get(id) === end) this.active.delete(id);
      },
    );
    const end = () => {
      stop();
      clearTimeout(timer);
    };
    this.active.set(id, end);
  }

  unsubscribe(id: number): void {
    this.active.get(id)?.();
    this.active.delete(id);
  }

  /** Ends every subscription (the window closed or reloaded). */
  closeAll(): void {
    for (const id of [...this.active.keys()]) this.unsubscribe(id);
  }

  get size(): number {
    return this.active.size;
  }
}

/** A thrown error as the renderer receives it: the catalog's status, code and title. */
function problemOf(thrown: unknown): IpcAnswer {
  const error = toSluiceError(thrown);
  const { http: status, title } = error.mapping;
  return refusal(status, error.code, title, error.detail, error.data);
}

function refusal(
  status: number,
  code: string,
  title: string,
  detail: string,
  data?: Readonly<Record<string, unknown>>,
): IpcAnswer {
  return { ok: false, problem: { status, code, title, detail, ...(data && { data: { ...data } }) } };
}
