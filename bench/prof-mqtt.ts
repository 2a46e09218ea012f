// Profiling helper (not a benchmark): starts `sluice serve` with --perf-basic-prof, runs one MQTT
// load shape against it, and records the broker with Linux perf for the measured round.
//   node --import tsx bench/prof-mqtt.ts <qos> <publishers>x<subscribers> <messages> <out-dir>
// With `-` for the folder it records nothing and only prints the rate and CPU per delivery (a
// quick before/after of one change; the benchmark proper is bench/mqtt.ts).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { brokerNodeFlags } from '../core/node-flags.ts';
import { createHttpClient } from '../core/api/client.ts';
import { cpuMicros, spawnMqttLoad, startSluiceServe } from './processes.ts';

const [qos = '0', shape = '1x1', count = '100000', outDir = '/tmp/prof'] = process.argv.slice(2);
const [publishers, subscribers] = shape.split('x').map(Number);
const broker = await startSluiceServe({ nodeFlags: [...brokerNodeFlags, '--perf-basic-prof'] });
try {
  const child = spawnMqttLoad(broker, {
    qos: Number(qos) as 0 | 1,
    publishers: publishers!,
    subscribers: subscribers!,
    total: Number(count),
  });
  let perf: ReturnType<typeof spawn> | undefined;
  let cpu = 0;
  const admin = createHttpClient(broker.httpUrl);
  admin.setAuth(broker.admin);
  const commits = async () => {
    const { broker: engine } = await admin.call('stats.get', {});
    return { commits: engine.commits, published: engine.published };
  };
  let before = { commits: 0, published: 0 };
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'measure') before = await commits();
    if (line === 'measure' && outDir === '-') {
      cpu = cpuMicros(broker.pid);
      child.stdin.write('go\n');
    } else if (line === 'measure') {
      perf = spawn('perf', ['record', '-F', '999', '-g', '-p', String(broker.pid), '-o', join(outDir, 'perf.data')], {
        stdio: 'inherit',
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      cpu = cpuMicros(broker.pid);
      child.stdin.write('go\n');
    } else if (line === 'measured') {
      cpu = cpuMicros(broker.pid) - cpu;
      const after = await commits();
      const perCommit = (after.published - before.published) / (after.commits - before.commits);
      console.log(`${after.commits - before.commits} commits, ${perCommit.toFixed(1)} publishes per commit`);
      perf?.kill('SIGINT');
      if (perf) await once(perf, 'exit');
      child.stdin.write('ok\n');
    } else if (line.startsWith('{')) {
      const result = JSON.parse(line) as { delivered: number; msgPerSec: number };
      console.log(`${result.msgPerSec.toFixed(0)} msg/s, ${(cpu / result.delivered).toFixed(1)} µs/delivery`);
    }
  }
} finally {
  await broker.stop();
}
