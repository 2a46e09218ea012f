import { listen } from '../../net.ts';
import { readPem } from '../../security/tls.ts';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { MqttConfig } from './config.ts';

/** Hands one accepted connection to the broker. */
export type ConnectionHandler = (connection: Duplex, request?: IncomingMessage) => void;

/** The sockets the MQTT listener accepts on. */
export interface Listeners {
  readonly ports: { readonly tcp?: number; readonly ws?: number; readonly tls?: number };
  /** Stops accepting and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts TCP, WebSocket and (with a certificate) TLS listeners from the config. */
export async function startListeners(config: MqttConfig, handle: ConnectionHandler): Promise<Listeners> {
  const servers: Array<NetServer | HttpServer> = [];
  const sockets = new Set<Duplex>();
  const ports: { tcp?: number; ws?: number; tls?: number } = {};
  // A hard cap on raw sockets; the CONNACK-level limit (return code 3) is checked in authenticate.
  const socketCap = config.maxConnections * 2 + 16;
  const track = (socket: Duplex): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const accept = (socket: Socket): void => {
    socket.setNoDelay(true);
    track(socket);
    handle(socket);
  };

  try {
    if (config.tcp.enabled) {
      const server = createNetServer(accept);
      server.maxConnections = socketCap;
      servers.push(server);
      ports.tcp = await listen(server, config.tcp.port, config.tcp.host);
    }
    if (config.ws.enabled) {
      const server = createHttpServer((_request, response) => {
        response.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
      });
      server.maxConnections = socketCap;
      // The subprotocol is "mqtt" (3.1.1 §6); "mqttv3.1" for 3.1 clients.
      const wss = new WebSocketServer({
        server,
        path: config.ws.path,
        maxPayload: config.maxPacketBytes + 8,
        handleProtocols: (protocols) =>
          protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : ([...protocols][0] ?? false),
      });
      wss.on('connection', (ws, request) => {
        const stream = createWebSocketStream(ws);
        refuseTextFrames(ws, stream);
        stream.on('error', () => stream.destroy());
        track(stream);
        handle(stream, request);
      });
      servers.push(server);
      ports.ws = await listen(server, config.ws.port, config.ws.host);
    }
    if (config.tls.cert && config.tls.key) {
      const server = createTlsServer(
        {
          cert: readPem(config.tls.cert, 'certificate'),
          key: readPem(config.tls.key, 'key'),
          ...(config.tls.ca && { ca: readPem(config.tls.ca, 'CA') }),
        },
        accept,
      );
      server.maxConnections = socketCap;
      server.on('tlsClientError', () => {});
      servers.push(server);
      ports.tls = await listen(server, config.tls.port, config.tls.host);
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    throw error;
  }

  return {
    ports,
    async close() {
      const closed = servers.map((server) => new Promise((resolve) => server.close(resolve)));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closed);
    },
  };
}

/**
 * [MQTT-6.0.0-1] MQTT travels in binary WebSocket frames; a text frame closes the connection
 * (1003, unsupported data) before anything in it reaches the MQTT parser. createWebSocketStream
 * (node_modules/ws/lib/stream.js) pushes every message into the stream, so its one 'message'
 * listener is wrapped.
 */
function refuseTextFrames(ws: WebSocket, stream: Duplex): void {
  const forward = ws.listeners('message') as Array<(this: WebSocket, data: unknown, isBinary: boolean) => void>;
  ws.removeAllListeners('message');
  ws.on('message', function binaryOnly(this: WebSocket, data, isBinary) {
    if (!isBinary) {
      ws.close(1003, 'MQTT is sent in binary frames');
      stream.destroy();
      return;
    }
    for (const listener of forward) listener.call(this, data, isBinary);
  });
}
