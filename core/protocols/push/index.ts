/**
 * The broker's push consumers (docs/push.md): declared in the config file or created through
 * the API, kept in the store, each one a PushConsumer running against its queue.
 */
import type { Logger } from 'pino';
import type { Engine } from '../../engine/engine.ts';
import { SluiceError } from '../../errors.ts';
import {
  pushConsumerConfigSchema,
  pushMetrics,
  redactPushConfig,
  redactedSecret,
  secretsMayFollow,
  type PushConsumerConfig,
  type PushConsumerConfigInput,
  type PushConsumerView,
  type PushRegistry,
} from '../../schema/push-config.ts';
import type { PushStore } from '../../store/push-store.ts';
import { PushConsumer, stoppedStatus } from './push-consumer.ts';

/** The running push consumers of one broker: what the API uses, plus what the broker runs. */
export interface PushConsumers extends PushRegistry {
  /** Prometheus text for `/metrics`. */
  metrics(): string;
  /** Stops every one; call before the engine closes. */
  close(): Promise<void>;
}

interface Entry {
  config: PushConsumerConfig;
  source: 'file' | 'api';
  runtime: PushConsumer | null;
}

/**
 * Starts the push consumers: those declared in the file are written to the store first (the
 * file wins over an API change of the same name; one no longer declared is dropped), then every
 * stored one starts.
 */
export function startPushConsumers(
  engine: Engine,
  store: PushStore,
  declared: readonly PushConsumerConfig[],
  logger: Logger,
): PushConsumers {
  for (const config of declared)
    store.put({
      name: config.name,
      queue: config.queue,
      configJson: JSON.stringify(config),
      source: 'file',
      createdBy: null,
      updatedAt: Date.now(),
    });
  // One removed from the file is gone at the next start; those created through the API stay.
  const declaredNames = new Set(declared.map((config) => config.name));
  for (const row of store.list()) if (row.source === 'file' && !declaredNames.has(row.name)) store.delete(row.name);
  const entries = new Map<string, Entry>();
  let closed = false;

  const run = (config: PushConsumerConfig): PushConsumer | null => {
    if (!config.enabled || closed) return null;
    const runtime = new PushConsumer(config, engine, logger.child({ push: config.name }));
    runtime.start();
    return runtime;
  };

  for (const row of store.list()) {
    const parsed = pushConsumerConfigSchema.safeParse(JSON.parse(row.configJson));
    if (!parsed.success) {
      logger.error({ push: row.name, issues: parsed.error.issues }, 'stored push consumer is invalid; not started');
      continue;
    }
    entries.set(row.name, { config: parsed.data, source: row.source, runtime: run(parsed.data) });
  }

  const view = (entry: Entry): PushConsumerView => ({
    config: redactPushConfig(entry.config),
    status: entry.runtime?.status() ?? stoppedStatus(entry.config, engine),
    source: entry.source,
  });
  const require = (name: string): Entry => {
    const entry = entries.get(name);
    if (!entry) throw new SluiceError('push-consumer-not-found', `No push consumer named "${name}"`);
    return entry;
  };
  const statuses = () => [...entries.values()].map((entry) => view(entry).status);

  return {
    list: (queue) => [...entries.values()].filter((e) => queue === undefined || e.config.queue === queue).map(view),
    get: (name) => view(require(name)),
    async put(input, by) {
      if (closed) throw new SluiceError('broker-closing', 'The broker is shutting down');
      const previous = entries.get(input.name);
      const config = parseWithSecrets(input, previous?.config);
      if (!engine.queueByName(config.queue))
        throw new SluiceError('queue-not-found', `Queue "${config.queue}" does not exist`);
      await previous?.runtime?.stop();
      store.put({
        name: config.name,
        queue: config.queue,
        configJson: JSON.stringify(config),
        source: 'api',
        createdBy: by.user,
        updatedAt: Date.now(),
      });
      const entry: Entry = { config, source: 'api', runtime: run(config) };
      entries.set(config.name, entry);
      return view(entry);
    },
    async delete(name) {
      const entry = require(name);
      await entry.runtime?.stop();
      store.delete(name);
      entries.delete(name);
    },
    statuses,
    configs: () => [...entries.values()].map((entry) => entry.config),
    metrics: () => pushMetrics(statuses()),
    async close() {
      closed = true;
      await Promise.all([...entries.values()].map((entry) => entry.runtime?.stop()));
    },
  };
}

/** Validates a configuration, filling secrets left out (or redacted) from the stored one. */
export function parseWithSecrets(
  input: PushConsumerConfigInput,
  previous: PushConsumerConfig | undefined,
): PushConsumerConfig {
  const parsed = pushConsumerConfigSchema.safeParse(input);
  if (!parsed.success)
    throw new SluiceError(
      'invalid-input',
      parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'config'}: ${i.message}`).join('; '),
    );
  const config = parsed.data;
  const kept = (given: string | undefined, stored: string | undefined) =>
    given === undefined || given === redactedSecret ? stored : given;
  // A stored secret goes only where it went before: pointing a push consumer at another origin
  // without giving the secrets again must not hand the old endpoint's credentials to the new one.
  if (previous !== undefined && !secretsMayFollow(previous.url, config.url)) previous = undefined;
  const before = previous?.auth;
  let auth = config.auth;
  if (auth.type === 'basic') {
    const password = kept(auth.password, before?.type === 'basic' ? before.password : undefined);
    auth = { ...auth, ...(password !== undefined ? { password } : {}) };
    if (password === undefined) throw missingSecret('auth.password');
  } else if (auth.type === 'bearer') {
    const token = kept(auth.token, before?.type === 'bearer' ? before.token : undefined);
    if (token === undefined) throw missingSecret('auth.token');
    auth = { ...auth, token };
  } else if (auth.type === 'header') {
    const value = kept(auth.value, before?.type === 'header' ? before.value : undefined);
    if (value === undefined) throw missingSecret('auth.value');
    auth = { ...auth, value };
  }
  const key = kept(config.tls.key, config.tls.cert !== undefined ? previous?.tls.key : undefined);
  if (config.tls.cert !== undefined && key === undefined) throw missingSecret('tls.key');
  const tls = { ...config.tls, ...(key !== undefined && { key }) };
  if (key === undefined) delete tls.key;
  return { ...config, auth, tls };
}

function missingSecret(field: string): SluiceError {
  return new SluiceError(
    'invalid-input',
    `${field}: required (give it; a stored one is kept only while the URL's origin stays the same)`,
  );
}
