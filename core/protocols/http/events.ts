/**
 * Server-sent events for the contract's event operations (`events.stream`): one `event:` +
 * `data:` block per event, a comment heartbeat so proxies and clients see a live connection,
 * and bounded memory per client.
 *
 * Backpressure: events come synchronously from the engine and are never awaited. While the
 * response's buffered bytes (its own plus the socket's) exceed `maxBufferedBytes`, events are
 * dropped and counted; once the buffer drains a `dropped` event tells the client how many it
 * missed. A slow or stalled client costs at most `maxBufferedBytes` (+ one event).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerEvent } from '../../api/contract.ts';

/** SSE tuning (config `http.events`). */
export interface SseOptions {
  /** A `: ping` comment is sent this often when nothing else was. */
  readonly heartbeatMs: number;
  /** Buffered bytes per client beyond which events are dropped. */
  readonly maxBufferedBytes: number;
}

/**
 * Serves one subscription until the client goes away or `stop` is called. `subscribe` must
 * validate and register synchronously (throwing before any header is written, so a bad input
 * is still a problem+json answer); it returns the unsubscribe function.
 */
export function serveEvents(
  req: IncomingMessage,
  res: ServerResponse,
  subscribe: (onEvent: (event: BrokerEvent) => void) => () => void,
  options: SseOptions,
): { done: Promise<void>; stop: () => void } {
  let dropped = 0;
  let totalDropped = 0;
  let lastWriteAt = Date.now();

  const write = (text: string): void => {
    lastWriteAt = Date.now();
    res.write(text);
  };
  const full = () => res.writableLength > options.maxBufferedBytes;
  const reportDropped = () => {
    if (dropped === 0 || full()) return;
    const event: BrokerEvent = { type: 'dropped', dropped, totalDropped };
    dropped = 0;
    write(frame(event));
  };
  const onEvent = (event: BrokerEvent): void => {
    if (res.destroyed || res.writableEnded) return;
    if (full()) {
      dropped++;
      totalDropped++;
      return;
    }
    reportDropped();
    write(frame(event));
  };

  const unsubscribe = subscribe(onEvent); // throws on bad input, before the headers
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(': sluice events\nretry: 2000\n\n'); // flushes the headers: the subscription is live
  req.socket.setNoDelay(true);
  res.on('drain', reportDropped);

  const heartbeat = setInterval(
    () => {
      if (Date.now() - lastWriteAt >= options.heartbeatMs && !full()) write(': ping\n\n');
    },
    Math.max(10, Math.floor(options.heartbeatMs / 2)),
  );
  heartbeat.unref();

  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    finish();
  };
  res.on('close', end);
  return {
    done,
    stop: () => {
      end();
      res.end();
    },
  };
}

/** One SSE block; JSON has no raw newlines, so `data:` is a single line. */
function frame(event: BrokerEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
