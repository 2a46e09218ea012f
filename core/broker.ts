/**
 * createBroker(config): opens the engine on the data directory, ensures the declared queues,
 * builds the API service and starts the listeners; close() drains them in reverse order.
 *
 * Adding a listener (MQTT, AMQP): write `start…(engine or service, config, logger)` returning a
 * `Listener`, and push it in `startListeners` below.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionRegistry } from './api/connections.ts';
import { renderMetrics } from './api/metrics.ts';
import { createService, type Service } from './api/service.ts';
import type { SluiceConfig } from './config.ts';
import { Engine } from './engine/engine.ts';
import { createLogger, type Logger } from './log.ts';
import { startHttp, type StaticFiles } from './protocols/http/server.ts';
import { createMcpHttp } from './protocols/mcp/http.ts';
import { startBridges, type Bridges } from './bridges/index.ts';
import { startPushConsumers, type PushConsumers } from './protocols/push/index.ts';
import { PushStore } from './store/push-store.ts';
import { demoEndpoints } from './demo/actors.ts';
import { startAmqp } from './protocols/amqp/index.ts';
import { startMqtt } from './protocols/mqtt/index.ts';
import { BrokerSecurity } from './security/policy.ts';
import { loadTls } from './security/tls.ts';
import { SecurityStore } from './store/security-store.ts';
import { defaultUiDir, uiStaticFiles } from './protocols/http/static-files.ts';
import { packageVersion } from './resources.ts';

/** A running door of the broker. */
export interface Listener {
  /** Shown in logs: `http`, `mqtt`… */
  readonly name: string;
  /** Where clients reach it. */
  readonly url: string;
  /** Stops accepting, finishes what is running, and releases the port. */
  close(): Promise<void>;
}

/** A started broker. */
export interface Broker {
  readonly engine: Engine;
  readonly service: Service;
  /** Base URL of the HTTP API. */
  readonly httpUrl: string;
  readonly listeners: readonly Listener[];
  /** Users, roles, ACL and audit; the policy every listener authorizes with. */
  readonly security: BrokerSecurity;
  /** Where listeners report client connections (connections.list / disconnect). */
  readonly connections: ConnectionRegistry;
  /**
   * Set on the first start (config security.firstRun = generate-admin): the admin's one-time
   * password, also written to `file` (mode 0600). The host prints it once.
   */
  readonly firstRunAdmin?: { readonly user: string; readonly password: string; readonly file: string };
  /** Drains cleanly: listeners closed, then the engine (pending commits written). Idempotent. */
  close(): Promise<void>;
}

/** What the host can add beyond the config. */
export interface BrokerOptions {
  /** Default: a pino logger at config.logLevel on stderr. */
  readonly logger?: Logger;
  /** Hook for the UI's static files over HTTP. */
  readonly staticFiles?: StaticFiles;
  /** Rate sampling interval (tests use a short one). */
  readonly rateIntervalMs?: number;
}

/** The package version, for health and OpenAPI. */
export const version: string = packageVersion();

/** Starts a broker: openEngine → ensureDeclaredQueues → createService → startListeners. */
export async function createBroker(config: SluiceConfig, options: BrokerOptions = {}): Promise<Broker> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const engine = await openEngine(config, logger);
  const security = new BrokerSecurity(new SecurityStore(engine.store.database), config.security, logger);
  const connections = new ConnectionRegistry();
  let bridges: Bridges | undefined;
  let push: PushConsumers | undefined;
  const service = createService(engine, {
    version,
    security,
    connections,
    bridges: () => bridges?.statuses() ?? [],
    // config.export / config.import: the file's listener and bridge sections as running.
    declared: () => ({
      listeners: { http: config.http, mqtt: config.mqtt, amqp: config.amqp, tls: config.tls },
      bridges: config.bridges,
    }),
    push: () => push,
    ...(options.rateIntervalMs !== undefined && { rateIntervalMs: options.rateIntervalMs }),
  });
  const listeners: Listener[] = [];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      service.close(); // readiness fails first, so probes stop sending work
      // Bridges first, while the engine is open, so their in-flight messages are released in order.
      await bridges?.close();
      // Push consumers too: their requests under way are answered or released before the engine closes.
      await push?.close();
      for (const listener of [...listeners].reverse()) await listener.close();
      await engine.close();
      logger.info('broker stopped');
    })());
  let firstRunAdmin: Broker['firstRunAdmin'];
  try {
    firstRunAdmin = await firstRun(security, config, logger);
    await ensureDeclaredQueues(engine, config, logger);
    await startListeners(
      listeners,
      engine,
      service,
      config,
      logger,
      options,
      () => (bridges?.metrics() ?? '') + (push?.metrics() ?? ''),
    );
    // The demo runner's simulated plant systems connect to this broker's own doors.
    service.demo.attach(demoEndpoints(listeners));
    push = startPushConsumers(
      engine,
      new PushStore(engine.store.database),
      config.push,
      logger.child({ component: 'push' }),
    );
    if (config.bridges.length > 0)
      bridges = await startBridges(engine, config.bridges, logger.child({ component: 'bridges' }), {
        dataDir: config.dataDir,
      });
  } catch (error) {
    await close();
    throw error;
  }
  logger.info({ dataDir: config.dataDir, listeners: listeners.map((l) => l.url) }, 'broker started');
  return {
    engine,
    service,
    security,
    connections,
    httpUrl: listeners[0]!.url,
    listeners,
    close,
    ...(firstRunAdmin && { firstRunAdmin }),
  };
}

/**
 * First start with no users (docs/security.md): create `admin` with a random password written
 * to a 0600 file in the data directory, or leave setup to the UI (`auth.setup`).
 */
async function firstRun(
  security: BrokerSecurity,
  config: SluiceConfig,
  logger: Logger,
): Promise<Broker['firstRunAdmin']> {
  if (!security.setupRequired) return undefined;
  if (config.security.firstRun === 'setup') {
    logger.warn('no users yet: open the UI to create the first admin (auth.setup is open until then)');
    return undefined;
  }
  const admin = await security.createInitialAdmin();
  if (!admin) return undefined;
  const file = join(config.dataDir, 'initial-admin-password');
  if (!existsSync(file)) writeFileSync(file, `${admin.user}:${admin.password}\n`, { mode: 0o600 });
  logger.warn(
    { user: admin.user, file },
    'first run: created the admin user; its password is in the file (delete it once noted)',
  );
  return { ...admin, file };
}

function openEngine(config: SluiceConfig, logger: Logger): Promise<Engine> {
  return Engine.open({
    databaseFile: join(config.dataDir, 'sluice.db'),
    maxMessageBytes: config.limits.maxMessageBytes,
    retention: config.retention,
    expiryIntervalMs: config.expiryIntervalMs,
    journey: config.journey,
    logger,
  });
}

/**
 * Declared queues exist after startup with the declared configuration: missing ones are
 * created, and an existing one whose configuration differs is updated to match the file.
 */
async function ensureDeclaredQueues(engine: Engine, config: SluiceConfig, logger: Logger): Promise<void> {
  const existing = new Map(engine.listQueues().map((queue) => [queue.name, queue.config]));
  for (const { name, ...declared } of config.queues) {
    const current = existing.get(name);
    if (!current) await engine.createQueue(name, declared);
    else if (JSON.stringify(current) !== JSON.stringify(declared)) {
      await engine.updateQueue(name, declared);
      logger.info({ queue: name }, 'declared queue updated to match the configuration');
    }
  }
}

async function startListeners(
  listeners: Listener[],
  engine: Engine,
  service: Service,
  config: SluiceConfig,
  logger: Logger,
  options: BrokerOptions,
  /** Metrics from parts started after the listeners (bridges), appended to /metrics. */
  extraMetrics: () => string,
): Promise<void> {
  // The UI is served whenever its build exists (`npm run build`); the API runs either way.
  const staticFiles = options.staticFiles ?? uiStaticFiles();
  const tls = loadTls(config.tls); // one certificate for every door (docs/security.md)
  const startedAt = Date.now();
  const mcp = createMcpHttp(service, { version, maxBodyBytes: config.http.maxBodyBytes });
  const http = await startHttp(service, {
    ...config.http,
    logger,
    version,
    ...(staticFiles && { staticFiles }),
    ...(tls && { tls }),
    metrics: () => renderMetrics(service, startedAt) + extraMetrics(),
    mcp: mcp.handle,
  });
  // MCP sessions hold open event streams: end them first so the listener drains at once.
  listeners.push({ name: 'http', url: http.url, close: () => mcp.close().then(http.close) });
  if (staticFiles) logger.info({ url: `${http.url}/`, dir: options.staticFiles ? 'host' : defaultUiDir }, 'UI served');
  if (config.mqtt.enabled) {
    // The shared certificate starts MQTT's TLS listener unless its own section names one.
    const mqttConfig = {
      ...config.mqtt,
      tls: {
        ...config.mqtt.tls,
        ...(config.mqtt.tls.cert === undefined && config.tls.cert !== undefined && { cert: config.tls.cert }),
        ...(config.mqtt.tls.key === undefined && config.tls.key !== undefined && { key: config.tls.key }),
        ...(config.mqtt.tls.ca === undefined && config.tls.ca !== undefined && { ca: config.tls.ca }),
      },
    };
    const mqtt = await startMqtt(engine, mqttConfig, logger, {
      security: service.policy,
      connections: service.connections,
    });
    const { tcp, ws, tls } = mqtt.ports;
    const urls = [
      tcp !== undefined && `mqtt://${config.mqtt.tcp.host}:${tcp}`,
      ws !== undefined && `ws://${config.mqtt.ws.host}:${ws}${config.mqtt.ws.path}`,
      tls !== undefined && `mqtts://${mqttConfig.tls.host}:${tls}`,
    ].filter(Boolean);
    // Closed before the engine: it releases its consumers' deliveries back into the queues.
    listeners.push({ name: 'mqtt', url: urls.join(' '), close: mqtt.close });
  }
  if (config.amqp.enabled) {
    const amqpConfig = {
      ...config.amqp,
      // SASL ANONYMOUS is offered when the one security policy would let anonymous clients in.
      allowAnonymous: config.amqp.allowAnonymous || config.security.anonymous,
      tls: {
        ...config.amqp.tls,
        ...(config.amqp.tls.cert === undefined && config.tls.cert !== undefined && { cert: config.tls.cert }),
        ...(config.amqp.tls.key === undefined && config.tls.key !== undefined && { key: config.tls.key }),
        ...(config.amqp.tls.ca === undefined && config.tls.ca !== undefined && { ca: config.tls.ca }),
      },
    };
    const amqp = await startAmqp(engine, amqpConfig, logger, {
      security: service.policy,
      connections: service.connections,
    });
    const urls = [
      amqp.ports.amqp !== undefined && `amqp://${config.amqp.host}:${amqp.ports.amqp}`,
      amqp.ports.amqps !== undefined && `amqps://${amqpConfig.tls.host}:${amqp.ports.amqps}`,
    ].filter(Boolean);
    listeners.push({ name: 'amqp', url: urls.join(' '), close: amqp.close });
  }
}
