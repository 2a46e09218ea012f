import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.ts';
import { SluiceError } from '../errors.ts';
import { amqpUpstream } from './amqp-upstream.ts';
import { Bridge, disabledStatus } from './bridge.ts';
import { bridgesConfigSchema, type BridgeConfig, type BridgeConfigInput } from '../schema/bridge-config.ts';
import { loadBrokerId } from './identity.ts';
import { kafkaUpstream } from './kafka-upstream.ts';
import { mqttUpstream } from './mqtt-upstream.ts';
import { bridgeMetrics, type BridgeStatus } from '../schema/bridge-status.ts';
import type { Upstream, UpstreamContext } from './upstream.ts';

export {
  bridgeConfigSchema,
  bridgesConfigSchema,
  type BridgeConfig,
  type BridgeConfigInput,
} from '../schema/bridge-config.ts';
export { bridgeMetrics, bridgeStatusSchema, type BridgeStatus } from '../schema/bridge-status.ts';
export { bridgeQueueName } from './bridge.ts';
export { loadBrokerId } from './identity.ts';

/** The running bridges of one broker. */
export interface Bridges {
  /** This broker's id, stamped on forwarded messages as `sluice-origin`. */
  readonly brokerId: string;
  /** One status per configured bridge, in config order. */
  statuses(): BridgeStatus[];
  /** Prometheus text for `/metrics`. */
  metrics(): string;
  /** Stops every bridge (in-flight messages are released in order); call before the engine closes. */
  close(): Promise<void>;
}

/** Where the broker id comes from: given, or kept in the data directory. */
export type BrokerIdentity = { readonly brokerId: string } | { readonly dataDir: string };

/**
 * Starts every enabled bridge. Each one creates its backlog queue before this resolves and then
 * connects in the background, retrying forever: an unreachable upstream is a status, not an error.
 */
export async function startBridges(
  engine: Engine,
  configs: readonly BridgeConfigInput[],
  logger: Logger,
  identity: BrokerIdentity,
): Promise<Bridges> {
  const parsed = bridgesConfigSchema.safeParse(configs);
  if (!parsed.success)
    throw new SluiceError(
      'invalid-config',
      parsed.error.issues.map((i) => `bridges.${i.path.map(String).join('.')}: ${i.message}`).join('; '),
    );
  const brokerId = 'brokerId' in identity ? identity.brokerId : loadBrokerId(identity.dataDir);
  const entries: Array<{ config: BridgeConfig; upstream: Upstream; bridge: Bridge | null }> = [];
  try {
    for (const config of parsed.data) {
      const upstream = upstreamFor({ config, brokerId });
      const bridge = config.enabled
        ? new Bridge(config, upstream, { engine, brokerId, logger: logger.child({ bridge: config.name }) })
        : null;
      entries.push({ config, upstream, bridge });
      await bridge?.start();
    }
  } catch (error) {
    await Promise.all(entries.map((entry) => entry.bridge?.close()));
    throw error;
  }
  const statuses = () =>
    entries.map(({ config, upstream, bridge }) => bridge?.status() ?? disabledStatus(config, upstream.address));
  return {
    brokerId,
    statuses,
    metrics: () => bridgeMetrics(statuses()),
    close: async () => {
      await Promise.all(entries.map((entry) => entry.bridge?.close()));
    },
  };
}

function upstreamFor(context: UpstreamContext): Upstream {
  switch (context.config.upstream.protocol) {
    case 'mqtt':
      return mqttUpstream(context);
    case 'amqp':
      return amqpUpstream(context);
    case 'kafka':
      return kafkaUpstream(context);
  }
}
