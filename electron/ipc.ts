/**
 * The contract over IPC: what the main process does with a message from the preload. Plain
 * functions over the broker's service with no Electron import, so they are unit-tested under
 * Node (test/unit/electron-ipc.test.ts); main.ts only wires them to ipcMain.
 *
 * Nothing from the renderer is trusted: the request's shape is checked here, the operation name
 * against the contract, and the input by the service's own parse (STYLE.md §9).
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

/** Runs one operation for the renderer. Streamed operations (exports) answer their lines as an array. */
export async function callOperation(service: Service, op: string, input: unknown): Promise<IpcAnswer> {
  if (!operations.has(op) || kindOf(op as OperationName) === 'events')
    return refusal(
      404,
      'route-not-found',
      'No such operation',
      `"${op}" is not a callable operation of the Sluice API`,
    );
  try {
    const name = op as OperationName;
    if (kindOf(name) === 'ndjson') {
      const lines = [...service.stream(name as StreamOperationName, input)];
      return { ok: true, value: lines.map((line) => JSON.parse(line) as unknown) };
    }
    return { ok: true, value: await service.call(name as UnaryOperationName, input) };
  } catch (thrown) {
    const error = toSluiceError(thrown);
    const { http: status, title } = error.mapping;
    return refusal(status, error.code, title, error.detail, error.data);
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

  /** Starts subscription `id`; a bad stream name or input throws a SluiceError. */
  subscribe(id: number, stream: string, input: unknown): void {
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
    const stop = this.service.subscribe(stream as EventOperationName, input, (event) => {
      if (batch.length >= this.options.maxBatch) {
        dropped++;
        totalDropped++;
      } else batch.push(event);
      timer ??= setTimeout(flush, this.options.flushMs);
    });
    this.active.set(id, () => {
      stop();
      clearTimeout(timer);
    });
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

function refusal(
  status: number,
  code: string,
  title: string,
  detail: string,
  data?: Readonly<Record<string, unknown>>,
): IpcAnswer {
  return { ok: false, problem: { status, code, title, detail, ...(data && { data: { ...data } }) } };
}
