/**
 * The one IPC channel between the preload and the main process (STYLE.md §10), and the messages
 * on it. No imports: the sandboxed preload bundles this file and nothing else of ours.
 */

/** The channel name, both directions. */
export const ipcChannel = 'sluice';

/** Renderer → main. `call` is an invoke (answered); the others are one-way sends. */
export type IpcRequest =
  | { readonly kind: 'call'; readonly op: string; readonly input: unknown }
  | { readonly kind: 'subscribe'; readonly id: number; readonly stream: string; readonly input: unknown }
  | { readonly kind: 'unsubscribe'; readonly id: number };

/** Main → renderer: events of subscription `id`, batched (one IPC message per batch, not per event). */
export interface IpcEvents {
  readonly id: number;
  readonly events: readonly unknown[];
}
