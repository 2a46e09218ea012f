// The outside programs that Sluice's tests talk to (real protocol peers, a real browser), how to
// tell whether each is here, and the Debian package that brings it. One list, used by
// scripts/install-peers.sh (what to install), scripts/run-tests.mjs (one summary line, or a
// failure under CI=true) and test/helpers/peers.ts (which suites to skip).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's Python: its python3-* packages import only there (FACTS.md), not in a PATH python. */
const debianPython = '/usr/bin/python3';

const onPath = (command) => () => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const pythonModule = (module) => () => {
  try {
    execFileSync(debianPython, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};

/** name → { apt: Debian package, present(): boolean, usedBy: what needs it }. */
export const peers = {
  mosquitto: { apt: 'mosquitto', present: onPath('mosquitto'), usedBy: 'MQTT bridge tests, bench:mqtt baseline' },
  'mosquitto-clients': {
    apt: 'mosquitto-clients',
    present: onPath('mosquitto_pub'),
    usedBy: 'third-party MQTT client tests, bridge tests (mosquitto_passwd)',
  },
  rabbitmq: {
    apt: 'rabbitmq-server',
    present: () => existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server'),
    usedBy: 'AMQP bridge tests, bench:amqp baseline',
  },
  paho: { apt: 'python3-paho-mqtt', present: pythonModule('paho.mqtt.client'), usedBy: 'paho MQTT 3.1.1/5 tests' },
  'qpid-proton': { apt: 'python3-qpid-proton', present: pythonModule('proton'), usedBy: 'qpid-proton AMQP tests' },
  'confluent-kafka': {
    apt: 'python3-confluent-kafka',
    present: pythonModule('confluent_kafka'),
    usedBy: 'Kafka bridge tests (librdkafka mock cluster)',
  },
  openssl: { apt: 'openssl', present: onPath('openssl'), usedBy: 'TLS tests (self-signed certificates)' },
  curl: { apt: 'curl', present: onPath('curl'), usedBy: 'HTTP and SSE tests with a third-party client' },
  chromium: {
    apt: 'chromium',
    present: () => ['/usr/bin/chromium', '/usr/bin/chromium-browser'].some((path) => existsSync(path)),
    usedBy: 'UI end-to-end tests',
  },
};

/** The command that installs every peer on Debian or Ubuntu. */
export const installCommand = 'sudo bash scripts/install-peers.sh';

/** Names of the peers that are not on this machine (each checked once per process). */
export function missingPeers() {
  missingPeers.cached ??= Object.entries(peers)
    .filter(([, peer]) => !peer.present())
    .map(([name]) => name);
  return missingPeers.cached;
}

/** One line naming what is missing and how to install it, or undefined when nothing is. */
export function missingPeersLine() {
  const missing = missingPeers();
  if (missing.length === 0) return undefined;
  const packages = missing.map((name) => peers[name].apt).join(' ');
  return `missing test peers: ${missing.join(', ')} (Debian packages: ${packages}); install them with: ${installCommand}`;
}
