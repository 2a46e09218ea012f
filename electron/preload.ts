/**
 * The preload (STYLE.md §10: tiny and fixed). Runs sandboxed with context isolation, and exposes
 * exactly two functions as `window.sluice`: call(op, input) and subscribe(stream, input, cb),
 * both on one channel. Never raw ipcRenderer; the main process validates everything it receives.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { ipcChannel, type IpcEvents, type IpcRequest } from './channel.ts';

const listeners = new Map<number, (event: unknown) => void>();
let nextId = 1;

ipcRenderer.on(ipcChannel, (_sender, message: IpcEvents) => {
  const listener = listeners.get(message.id);
  if (listener) for (const event of message.events) listener(event);
});

const send = (request: IpcRequest) => ipcRenderer.send(ipcChannel, request);

contextBridge.exposeInMainWorld('sluice', {
  call: (op: string, input: unknown) =>
    ipcRenderer.invoke(ipcChannel, { kind: 'call', op, input } satisfies IpcRequest),
  subscribe(stream: string, input: unknown, onEvent: (event: unknown) => void): () => void {
    const id = nextId++;
    listeners.set(id, onEvent);
    send({ kind: 'subscribe', id, stream, input });
    return () => {
      listeners.delete(id);
      send({ kind: 'unsubscribe', id });
    };
  },
});
