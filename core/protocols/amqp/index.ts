import { coalesceWrites, listen } from '../../net.ts';
import { readPem } from '../../security/tls.ts';
import type { ConnectionRegistry } from '../../api/connections.ts';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import rhea, { type Connection } from 'rhea';
import type { Engine } from '../../engine/engine.ts';
import { toSluiceError } from '../../errors.ts';
import { allowAllPolicy, type SecurityPolicy } from '../../security/authorize.ts';
import { amqpConfigSchema, type AmqpConfig, type AmqpConfigInput } from './config.ts';
import { AmqpConnection } from './connection.ts';
import type { AmqpCounters, AmqpShared } from './link-host.ts';
import { replayQueuePrefix } from './consumer.ts';
import { guardFrames } from './frame-guard.ts';
import { saslMechanisms, type Authentication } from './sasl.ts';

export { amqpConfigSchema, type AmqpConfig, type AmqpConfigInput } from './config.ts';

/** The running AMQP listener. */
export interface AmqpListener {
  /** Bound ports (useful with port 0). */
  readonly ports: { readonly amqp?: number; readonly amqps?: number };
  /** Open connections, connections refused for the limit, live messages dropped. */
  stats(): Readonly<AmqpCounters>;
  /** Stops accepting, closes connections (their unsettled deliveries return to ready), keeps the engine open. */
  close(): Promise<void>;
}

/** Extra wiring; the broker passes its security policy once the security issue lands. */
export interface StartAmqpOptions {
  readonly security?: SecurityPolicy;
  /** Authenticated connections are listed there (connections.list) and can be disconnected. */
  readonly connections?: ConnectionRegistry;
}

/** A peer must complete SASL and OPEN within this time, or its socket is dropped. */
const openTimeoutMs = 10_000;

/**
 * Starts the AMQP 1.0 listener on rhea: TCP, and TLS when a certificate is configured.
 *
 * rhea's container.listen() creates a Connection inside its own 'connection' handler, out of reach
 * before the first byte; Sluice needs each connection's SASL state and error hooks before then, so
 * it owns the servers and hands each socket to `container.create_connection().accept(socket)`,
 * which is the whole of what listen() does per socket (node_modules/rhea/lib/container.js).
 */
export async function startAmqp(
  engine: Engine,
  configInput: AmqpConfigInput | AmqpConfig,
  logger: Logger,
  options: StartAmqpOptions = {},
): Promise<AmqpListener> {
  const config = amqpConfigSchema.parse(configInput);
  const log = logger.child({ protocol: 'amqp' });
  const counters: AmqpCounters = { connections: 0, refused: 0, liveDropped: 0 };
  const shared: AmqpShared = { engine, config, logger: log, security: options.security ?? allowAllPolicy, counters };
  const sockets = new Set<Socket>();
  const connections = new Map<Connection, AmqpConnection>();
  const closing = new Set<Promise<void>>();

  await removeLeftoverReplayQueues(engine);

  const accept = (socket: Socket): void => {
    socket.setNoDelay(true);
    // rhea writes each frame on its own: a commit's dispositions and transfers leave in one write.
    coalesceWrites(socket);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const auth: Authentication = { principal: null };
    // One container per connection: its SASL mechanisms write this connection's principal.
    const container = rhea.create_container({
      id: 'sluice',
      sender_options: { autosettle: true, treat_modified_as_released: false },
      receiver_options: { credit_window: 0, autoaccept: false },
    } as never);
    let connection: Connection | undefined = undefined;
    Object.assign(
      container.sasl_server_mechanisms,
      saslMechanisms(shared.security, auth, {
        allowAnonymous: config.allowAnonymous,
        clientId: () => connection?.container_id,
        address: socket.remoteAddress,
      }),
    );
    container.on('error', (error: unknown) => log.debug({ err: error }, 'amqp: error'));
    const rheaConnection = container.create_connection({
      container_id: 'sluice',
      max_frame_size: config.maxFrameSize,
      channel_max: config.maxSessionsPerConnection - 1,
      // rhea closes after twice the advertised idle-time-out without a frame (connection.js idle()).
      ...(config.idleTimeoutMs > 0 && { idle_time_out: Math.max(1, Math.floor(config.idleTimeoutMs / 2)) }),
      offered_capabilities: ['ANONYMOUS-RELAY'],
      properties: { product: 'sluice' },
      require_sasl: !config.allowAnonymous,
      reconnect: false,
    } as never) as Connection;
    connection = rheaConnection;
    const openTimer = setTimeout(() => socket.destroy(), openTimeoutMs);
    openTimer.unref();

    guardFrames(socket, config.maxFrameSize, (violation) => {
      log.warn({ ...violation, remote: socket.remoteAddress }, 'amqp: frame violation, closing the connection');
      closeWithError(rheaConnection, violation);
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    const malformed = (error: unknown): void => {
      // rhea ends the socket right after this event; the CLOSE goes out first (AMQP 1.0 §2.4.2).
      log.warn({ err: error, remote: socket.remoteAddress }, 'amqp: malformed input, closing the connection');
      closeWithError(rheaConnection, { condition: 'amqp:decode-error', description: String(error) });
    };
    rheaConnection.on('protocol_error', malformed);
    rheaConnection.on('error', malformed);
    rheaConnection.on('connection_open', () => {
      clearTimeout(openTimer);
      if (counters.connections >= config.maxConnections) {
        counters.refused++;
        log.warn({ max: config.maxConnections }, 'amqp: connection limit reached');
        rheaConnection.close({
          condition: 'amqp:resource-limit-exceeded',
          description: `connection limit of ${config.maxConnections} reached`,
        });
        return;
      }
      // No SASL layer at all (allowed only with allowAnonymous) is anonymous.
      const principal = auth.principal ?? { user: null, protocol: 'amqp', clientId: rheaConnection.container_id };
      counters.connections++;
      connections.set(rheaConnection, new AmqpConnection(shared, rheaConnection, principal));
      registration = options.connections?.register(
        {
          protocol: 'amqp',
          clientId: rheaConnection.container_id,
          user: principal.user,
          address: `${socket.remoteAddress}:${socket.remotePort}`,
        },
        () =>
          rheaConnection.close({
            condition: 'amqp:connection:forced',
            description: 'disconnected by an administrator',
          }),
      );
    });
    // The links go when the peer closes, the socket drops, or both; whichever comes first.
    // (rhea emits 'disconnected' only for an unclean end, so CLOSE is handled as well.)
    let registration: ReturnType<ConnectionRegistry['register']> | undefined;
    const finish = (): void => {
      clearTimeout(openTimer);
      registration?.closed();
      registration = undefined;
      const amqp = connections.get(rheaConnection);
      if (!amqp) return;
      connections.delete(rheaConnection);
      counters.connections--;
      const done = amqp.close().finally(() => closing.delete(done));
      closing.add(done);
    };
    rheaConnection.on('connection_close', () => {
      // Dispositions read with the CLOSE are dispatched on rhea's next tick: let them settle first.
      setImmediate(finish);
      if (!rheaConnection.is_closed()) rheaConnection.close();
    });
    rheaConnection.on('disconnected', finish);
    socket.once('close', () => {
      finish();
      // rhea listens for 'end' and 'error' only: a destroyed socket would leave its idle timers
      // (heartbeats, 2 × idle-time-out) running. Its disconnect path clears them.
      (rheaConnection as unknown as { _disconnected(): void })._disconnected();
    });
    rheaConnection.accept(socket);
  };

  const servers: Server[] = [];
  const ports: { amqp?: number; amqps?: number } = {};
  // A hard cap on raw sockets; the OPEN-level limit answers with amqp:resource-limit-exceeded.
  const socketCap = config.maxConnections * 2 + 16;
  try {
    if (config.enabled) {
      const server = createNetServer(accept);
      server.maxConnections = socketCap;
      servers.push(server);
      ports.amqp = await listen(server, config.port, config.host);
      if (config.tls.cert && config.tls.key) {
        const tls = createTlsServer(
          {
            cert: readPem(config.tls.cert, 'certificate'),
            key: readPem(config.tls.key, 'key'),
            ...(config.tls.ca && { ca: readPem(config.tls.ca, 'CA') }),
          },
          accept,
        );
        tls.maxConnections = socketCap;
        tls.on('tlsClientError', () => {});
        servers.push(tls);
        ports.amqps = await listen(tls, config.tls.port, config.tls.host);
      }
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    throw error;
  }
  log.info({ ports }, 'amqp: listening');
  // DESIGN.md: rights are live: every open connection re-checks what it holds.
  const stopWatchingRights = shared.security.onRightsChanged?.((change) => {
    for (const amqp of connections.values()) amqp.rightsChanged(change);
  });

  return {
    ports,
    stats: () => ({ ...counters }),
    async close() {
      stopWatchingRights?.();
      const closed = servers.map((server) => new Promise((resolve) => server.close(resolve)));
      for (const [connection, amqp] of [...connections]) {
        connections.delete(connection);
        counters.connections--;
        closing.add(amqp.close());
        closeWithError(connection, { condition: 'amqp:connection:forced', description: 'the broker is closing' });
      }
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
      await Promise.all(closed);
    },
  };
}

/** Writes CLOSE with `error` now, if the connection got as far as OPEN (rhea's close() waits a tick). */
function closeWithError(connection: Connection, error: { condition: string; description: string }): void {
  try {
    if (!connection.is_remote_open() || connection.is_closed()) return;
    connection.close(error);
    (connection as unknown as { _process(): void })._process();
  } catch {
    // The socket is already gone: nothing left to tell the peer.
  }
}

/** Replay receivers' temporary queues do not outlive the broker run that made them. */
async function removeLeftoverReplayQueues(engine: Engine): Promise<void> {
  for (const queue of engine.listQueues())
    if (queue.name.startsWith(replayQueuePrefix))
      await engine.deleteQueue(queue.name, { force: true }).catch((error: unknown) => {
        throw toSluiceError(error);
      });
}
