import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Engine } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';
import { startMqtt, type MqttConfigInput, type MqttListener } from '../../core/protocols/mqtt/index.ts';
import { openTestEngine } from '../helpers/engine.ts';

/** An engine on a temp dir with the MQTT listener on free ports; `restart` closes both and reopens on the same dir. */
export async function openMqttBroker(config: MqttConfigInput = {}): Promise<{
  readonly engine: Engine;
  readonly mqtt: MqttListener;
  readonly dir: string;
  url(scheme?: 'mqtt' | 'ws' | 'mqtts'): string;
  restart(): Promise<void>;
  close(): Promise<void>;
}> {
  const test = await openTestEngine();
  const settings: MqttConfigInput = { tcp: { port: 0 }, ws: { port: 0 }, ...config };
  let listener = await startMqtt(test.engine, settings, silentLogger());
  return {
    get engine() {
      return test.engine;
    },
    get mqtt() {
      return listener;
    },
    dir: test.dir,
    url(scheme = 'mqtt') {
      if (scheme === 'ws') return `ws://127.0.0.1:${listener.ports.ws}/mqtt`;
      if (scheme === 'mqtts') return `mqtts://127.0.0.1:${listener.ports.tls}`;
      return `mqtt://127.0.0.1:${listener.ports.tcp}`;
    },
    async restart() {
      const ports = listener.ports;
      await listener.close();
      const engine = await test.reopen();
      // Same ports, so persistent clients reconnect where they were.
      listener = await startMqtt(
        engine,
        { ...settings, tcp: { port: ports.tcp ?? 0 }, ws: { port: ports.ws ?? 0 } },
        silentLogger(),
      );
    },
    async close() {
      await listener.close();
      await test.cleanup();
    },
  };
}

/** Connects MQTT.js (3.1.1) and waits for CONNACK. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** Collects `topic payload` strings (and the DUP flag) a client receives. */
export function collect(
  client: MqttClient,
): Array<{ topic: string; payload: string; qos: number; dup: boolean; retain: boolean }> {
  const received: Array<{ topic: string; payload: string; qos: number; dup: boolean; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) =>
    received.push({ topic, payload: payload.toString(), qos: packet.qos, dup: packet.dup, retain: packet.retain }),
  );
  return received;
}

/** A self-signed certificate for 127.0.0.1 in `dir`. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
