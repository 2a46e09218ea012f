/**
 * Which suites need an outside program (scripts/peers.mjs lists them). A suite whose peer is
 * missing is skipped with the package and the install command as its reason, and run-tests.mjs
 * prints one summary line. Under CI=true nothing is skipped: a missing peer must fail the run,
 * never pass it silently (run-tests.mjs refuses to start, and a suite run directly fails).
 */
import { installCommand, missingPeers, peers, type PeerName } from '../../scripts/peers.mjs';

/** Why a suite that needs `names` cannot run here, or undefined when it can (or under CI). */
export function peerSkip(...names: PeerName[]): string | undefined {
  if (process.env.CI === 'true') return undefined;
  const missing = names.filter((name) => missingPeers().includes(name));
  if (missing.length === 0) return undefined;
  return `needs ${missing.map((name) => peers[name].apt).join(', ')}; install with: ${installCommand}`;
}
