// The Sluice MQTT broker in a process of its own, as Mosquitto runs in the benchmark: the engine
// on a fresh temporary directory (WAL, synchronous=FULL, group commit) and the MQTT listener on
// 127.0.0.1, port chosen by the system. Prints `ready <port>` on stdout once it accepts
// connections; SIGTERM (or stdin closing) closes the listener and the engine and removes the
// directory. Run with `node --cpu-prof` to profile it (bench/mqtt.ts: SLUICE_CPU_PROF=<dir>).
//
//   node --import tsx bench/mqtt-broker-child.ts
import { Engine } from '../core/engine/engine.ts';
import { silentLogger } from '../core/log.ts';
import { startMqtt } from '../core/protocols/mqtt/index.ts';
import { tempDir, testEngineOptions } from '../test/helpers/engine.ts';

const { dir, cleanup } = tempDir('sluice-bench-mqtt-');
const engine = await Engine.open(testEngineOptions(dir));
const listener = await startMqtt(
  engine,
  { tcp: { host: '127.0.0.1', port: 0 }, ws: { enabled: false } },
  silentLogger(),
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await listener.close();
    // SLUICE_BENCH_STATS=1: how well group commit batched (messages per commit, ms per commit).
    if (process.env.SLUICE_BENCH_STATS) {
      const { published, commits, commitMsTotal } = engine.counters;
      process.stderr.write(
        `sluice: ${published} published, ${commits} commits, ${(published / commits).toFixed(1)} messages and ` +
          `${(commitMsTotal / commits).toFixed(2)} ms per commit, peak RSS ` +
          `${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`,
      );
    }
    await engine.close();
  } finally {
    cleanup();
    // A normal exit, so that --cpu-prof writes its profile.
    process.exit(0);
  }
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();

process.stdout.write(`ready ${listener.ports.tcp}\n`);
