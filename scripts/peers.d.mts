// Types for scripts/peers.mjs (plain JavaScript so that run-tests.mjs can use it without tsx).
export type PeerName =
  | 'mosquitto'
  | 'mosquitto-clients'
  | 'rabbitmq'
  | 'paho'
  | 'qpid-proton'
  | 'confluent-kafka'
  | 'openssl'
  | 'curl'
  | 'chromium';
export interface Peer {
  /** The Debian package that brings it. */
  readonly apt: string;
  present(): boolean;
  /** What needs it, for the summary line. */
  readonly usedBy: string;
}
export declare const peers: Readonly<Record<PeerName, Peer>>;
export declare const installCommand: string;
export declare function missingPeers(): PeerName[];
export declare function missingPeersLine(): string | undefined;
