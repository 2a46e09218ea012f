/**
 * The renderer's one client for the contract, with two transports (DESIGN.md: UI): Electron IPC
 * through the preload's `window.sluice`, or HTTP to the same origin when a browser is served by
 * `sluice serve` (server-sent events for the live stream). Views see only this interface; types
 * come from the contract, never copies.
 */
import { ApiError, createHttpClient, type ClientAuth } from '../../../core/api/client.ts';
import type {
  BrokerEvent,
  OperationInput,
  OperationOutput,
  StreamOperationName,
  UnaryOperationName,
} from '../../../core/api/contract.ts';
import type { SluiceBridge } from './bridge.ts';

/** Which way the renderer reaches the broker. */
export type TransportKind = 'ipc' | 'http';

/** Whether a live stream is flowing. */
export type StreamState = 'connecting' | 'open' | 'reconnecting';

/** What a live subscription asks for (the contract's `events.stream` input). */
export type EventsInput = OperationInput<'events.stream'>;

/** The contract as the renderer uses it. */
export interface Api {
  readonly transport: TransportKind;
  /** Runs an operation; refusals reject with the client's ApiError on both transports. */
  call<N extends UnaryOperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>>;
  /** Runs a streamed operation (an export) and collects its lines. */
  collect<N extends StreamOperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>[]>;
  /** Opens the live event stream, reconnecting after a drop; returns the function that closes it. */
  subscribe(
    input: EventsInput,
    onEvent: (event: BrokerEvent) => void,
    onState?: (state: StreamState) => void,
  ): () => void;
  /** Credentials for every later call (HTTP only: over IPC the main process keeps this window's login). */
  setAuth(auth: ClientAuth | null): void;
  /**
   * Calls `listener` when the broker answers 401 to a call or to the live stream (a token that
   * expired or was revoked); login and setup refusals are the login page's own. Returns the unsubscribe.
   */
  onUnauthorized(listener: () => void): () => void;
}

declare global {
  interface Window {
    /** Present only inside the Electron window (electron/preload.ts). */
    readonly sluice?: SluiceBridge;
  }
}

/** Picks IPC inside Electron, else HTTP to the origin that served the page. */
export function createApi(bridge: SluiceBridge | undefined = window.sluice): Api {
  return bridge ? ipcApi(bridge) : httpApi();
}

/**
 * Over IPC every call runs as the user this window logged in as: the main process keeps the
 * session (electron/ipc.ts), so there are no credentials to set here, and a 401 means the
 * session is over, exactly as over HTTP.
 */
function ipcApi(bridge: SluiceBridge): Api {
  const unauthorized = new Set<() => void>();
  const call = async (name: string, input: unknown): Promise<unknown> => {
    const answer = await bridge.call(name, input);
    if (answer.ok) return answer.value;
    const { status, code, title, detail, data } = answer.problem;
    if (status === 401 && !loginOperations.has(name)) for (const listener of [...unauthorized]) listener();
    throw new ApiError(status, code as ApiError['code'], title, detail, data);
  };
  return {
    transport: 'ipc',
    call: (name, input) => call(name, input) as Promise<OperationOutput<typeof name>>,
    collect: (name, input) => call(name, input) as Promise<OperationOutput<typeof name>[]>,
    subscribe(input, onEvent, onState) {
      onState?.('open'); // IPC does not drop while the window lives
      return bridge.subscribe('events.stream', input, (event) => onEvent(event as BrokerEvent));
    },
    setAuth: () => undefined,
    onUnauthorized(listener) {
      unauthorized.add(listener);
      return () => unauthorized.delete(listener);
    },
  };
}

/** Longest wait between reconnect attempts of the live stream. */
const maxRetryMs = 5000;

/** Operations whose 401 means "wrong password", not "the session is over". */
const loginOperations: ReadonlySet<string> = new Set(['auth.login', 'auth.setup']);

function httpApi(): Api {
  const client = createHttpClient('');
  const unauthorized = new Set<() => void>();
  const watch = <T>(name: string, work: Promise<T>): Promise<T> =>
    work.catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401 && !loginOperations.has(name))
        for (const listener of [...unauthorized]) listener();
      throw error;
    });
  return {
    transport: 'http',
    call: (name, input) => watch(name, client.call(name, input)),
    collect: (name, input) =>
      watch(
        name,
        (async () => {
          const lines: OperationOutput<typeof name>[] = [];
          for await (const line of client.stream(name, input)) lines.push(line);
          return lines;
        })(),
      ),
    subscribe(input, onEvent, onState) {
      // The client does not reconnect by itself: a dropped stream is reopened with backoff.
      let stopped = false;
      let current: { close(): void } | undefined;
      let retryMs = 500;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const open = () => {
        if (stopped) return;
        const subscription = client.subscribe('events.stream', input, onEvent);
        current = subscription;
        watch('events.stream', subscription.ready).then(
          () => {
            retryMs = 500;
            onState?.('open');
          },
          () => undefined, // `closed` resolves too; the retry happens there
        );
        void subscription.closed.then(() => {
          if (stopped) return;
          onState?.('reconnecting');
          timer = setTimeout(open, retryMs);
          retryMs = Math.min(maxRetryMs, retryMs * 2);
        });
      };
      onState?.('connecting');
      open();
      return () => {
        stopped = true;
        clearTimeout(timer);
        current?.close();
      };
    },
    setAuth: (auth) => client.setAuth(auth),
    onUnauthorized(listener) {
      unauthorized.add(listener);
      return () => unauthorized.delete(listener);
    },
  };
}
