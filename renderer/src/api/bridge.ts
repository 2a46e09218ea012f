/**
 * What the Electron preload exposes as `window.sluice` (STYLE.md §10: tiny and fixed). The
 * envelope is plain data because Electron's structured clone drops an Error's fields; the
 * shapes mirror electron/ipc.ts, and test/unit/electron-ipc.test.ts checks they agree.
 */

/** A refused call as it crosses IPC: the same fields as an HTTP problem+json body. */
export interface BridgeProblem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** The answer to one call over IPC. */
export type BridgeAnswer =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: BridgeProblem };

/** `window.sluice`: one call and one subscribe, both on one IPC channel. */
export interface SluiceBridge {
  /** Runs an operation of the contract (inputs are validated in the main process). */
  call(op: string, input: unknown): Promise<BridgeAnswer>;
  /** Opens a stream of the contract; returns the function that closes it. */
  subscribe(stream: string, input: unknown, onEvent: (event: unknown) => void): () => void;
}
