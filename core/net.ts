import type { AddressInfo, Server, Socket } from 'node:net';

/** Starts `server` listening; resolves with the bound port (useful with port 0), rejects on e.g. EADDRINUSE. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Makes the writes `socket` gets in one pass of the event loop's tick queue leave together: the
 * first corks the socket and the tick queue's end uncorks it, so they go in one writev (one system
 * call, one TCP segment when small) instead of one each. For libraries that write every frame on
 * its own (rhea writes each AMQP frame with a socket.write); aedes has the same in its patch.
 */
export function coalesceWrites(socket: Socket): void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const write = socket.write;
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args as never);
  } as Socket['write'];
  // destroy() drops what is still buffered: a frame written just before (the CLOSE a closing
  // broker sends each peer) must leave first, as it would have without the cork. end() flushes itself.
  const destroy = socket.destroy;
  socket.destroy = function flushedDestroy(this: Socket, error?: Error): Socket {
    if (corked) uncork();
    return destroy.call(this, error);
  };
}
