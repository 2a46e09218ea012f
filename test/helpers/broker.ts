import { createBroker, type Broker, type BrokerOptions } from '../../core/broker.ts';
import { loadConfig, type ConfigInput } from '../../core/config.ts';
import { silentLogger } from '../../core/log.ts';
import { tempDir } from './engine.ts';

/** Config flags for a test broker in `dir`: every listener on a free port, quiet. */
export function testBrokerFlags(dir: string, flags: ConfigInput = {}): ConfigInput {
  return {
    dataDir: dir,
    ...flags,
    // Tests run open unless they say otherwise (security tests set their own users and switch).
    security: { anonymous: true, ...flags.security },
    http: { port: 0, ...flags.http },
    mqtt: { ...flags.mqtt, tcp: { port: 0, ...flags.mqtt?.tcp }, ws: { port: 0, ...flags.mqtt?.ws } },
    amqp: { port: 0, ...flags.amqp },
  };
}

/** A whole broker (engine + every listener) on a temp dir, as `sluice serve` runs it. */
export async function startTestBroker(
  flags: ConfigInput = {},
  options: BrokerOptions = {},
): Promise<{ broker: Broker; dir: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const config = loadConfig({ env: {}, flags: testBrokerFlags(dir, flags) });
  const broker = await createBroker(config, { logger: silentLogger(), ...options });
  return {
    broker,
    dir,
    cleanup: async () => {
      await broker.close();
      cleanup();
    },
  };
}
