import { z } from 'zod';
import { queueSettingsSchema } from '../../schema/queue-config.ts';

/** The MQTT listener's configuration (one section of the broker's config schema). */
export const mqttConfigSchema = z.object({
  /** Off switch for the whole listener. */
  enabled: z.boolean().default(true),
  /** Plain MQTT over TCP. */
  tcp: z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(1883),
    })
    .prefault({}),
  /** MQTT over WebSocket (subprotocol mqtt). */
  ws: z
    .object({
      enabled: z.boolean().default(true),
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8083),
      path: z.string().startsWith('/').default('/mqtt'),
    })
    .prefault({}),
  /** MQTT over TLS; started only when both a certificate and a key are configured. */
  tls: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8883),
      /** PEM text, or a path to a PEM file. */
      cert: z.string().optional(),
      key: z.string().optional(),
      ca: z.string().optional(),
    })
    .prefault({}),
  /** Largest MQTT packet accepted (remaining length); a larger one closes the connection. */
  maxPacketBytes: z
    .number()
    .int()
    .min(64)
    .max(256 * 1024 * 1024)
    .default(1024 * 1024),
  /** Connected clients at most; one more gets CONNACK 3 (server unavailable). */
  maxConnections: z.number().int().positive().default(10_000),
  /**
   * Unacknowledged messages per client in each direction: inbound QoS 2 awaiting PUBREL
   * (one more closes the connection) and outbound queue deliveries awaiting PUBACK/PUBCOMP.
   */
  maxInFlightPerClient: z.number().int().min(1).max(65_000).default(100),
  /** Live (clean session) messages buffered for a slow client; beyond this they are dropped and counted. */
  maxQueuedPerClient: z.number().int().min(1).default(100_000),
  /** MQTT 5: topic aliases a client may set (CONNACK topic alias maximum); 0 turns them off. */
  topicAliasMaximum: z.number().int().min(0).max(65_535).default(64),
  /**
   * MQTT 5: longest keep-alive (seconds) a client may ask for; a client asking for more, or for
   * none (0), is given this one in CONNACK (server keep alive). 0: no limit. The default, 300 s,
   * leaves the usual PLC and gateway settings (10–120 s) alone and makes a peer that vanished
   * (cable pulled, power cut: no FIN) be noticed within 1.5 × 300 s, so its will is published and
   * its session expiry starts (docs/mqtt.md, "Server keep alive").
   */
  maxKeepAliveSec: z.number().int().min(0).max(65_535).default(300),
  /** Time a client may take to send CONNECT after opening the connection. */
  connectTimeoutMs: z.number().int().positive().default(30_000),
  /** aedes heartbeat; the wills of clients of a broker that died are published after 4 × this. */
  heartbeatIntervalMs: z.number().int().positive().default(60_000),
  /** Settings of the engine queue behind each persistent session (`mqtt/<clientId>`). */
  persistentSessionQueue: queueSettingsSchema.default({}),
  /** Settings of the engine queue behind each shared subscription group (`mqtt-share/<group>/<filter>`). */
  sharedSubscriptionQueue: queueSettingsSchema.default({}),
});

/** The MQTT config, defaults filled in. */
export type MqttConfig = Readonly<z.infer<typeof mqttConfigSchema>>;
/** What a caller may give. */
export type MqttConfigInput = z.input<typeof mqttConfigSchema>;
