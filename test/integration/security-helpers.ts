// Shared set-up of the security suites (security-*.test.ts): a broker with security on, the role
// `line1` (every action on plant/line1/# only) and the user `limited`, as in issue 16's report.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';

/** The limited user's password. */
export const limitedPassword = 'limited-password';

/** A broker with security on, `admin` (first run) and `limited` (role line1). */
export async function startSecuredBroker(flags: Parameters<typeof startTestBroker>[0] = {}): Promise<{
  broker: Broker;
  dir: string;
  adminPassword: string;
  mqttUrl: string;
  amqpPort: number;
  cleanup: () => Promise<void>;
}> {
  const { broker, dir, cleanup } = await startTestBroker(
    { ...flags, security: { anonymous: false, ...flags.security } },
    { rateIntervalMs: 50 },
  );
  broker.security.putRole('line1', 'everything on line 1', [{ actions: ['*'], patterns: ['plant/line1/#'] }]);
  await broker.security.createUser('limited', limitedPassword, ['line1']);
  return {
    broker,
    dir,
    adminPassword: broker.firstRunAdmin!.password,
    mqttUrl: broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!,
    amqpPort: Number(/:(\d+)/.exec(broker.listeners.find((l) => l.name === 'amqp')!.url)![1]),
    cleanup,
  };
}

/** `Basic` authorization header value. */
export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Connects MQTT.js; resolves with the client and CONNACK, or with the refusal's return/reason code. */
export function tryMqtt(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; sessionPresent: boolean } | { refused: number }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', (error: Error & { code?: number }) => {
      client.end(true);
      resolve({ refused: Number(error.code ?? -1) });
    });
  });
}
