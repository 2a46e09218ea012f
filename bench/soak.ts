// The soak (docs/benchmarks.md, "Soak"): `npm run soak -- --minutes 30` runs `sluice serve` under
// a mixed plant workload with kill -9, a bridge outage, a stalled consumer and a full disk, then
// writes an HTML report and a JSON summary to bench/results/. Exits 1 if an acknowledged message
// was lost. Options: --minutes N (30), --rate N messages/s per publisher (40), --no-ui, --no-bridge,
// --faults kill-9,bridge-outage,consumer-stall,disk-full,replay (default: all).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lostTotal, writeReport } from './soak/report.ts';
import { runSoak, type Fault } from './soak/run.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '40' },
    'no-ui': { type: 'boolean', default: false },
    'no-bridge': { type: 'boolean', default: false },
    faults: { type: 'string' },
  },
});
const workDir = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
try {
  const result = await runSoak({
    minutes: Number(values.minutes),
    perSecond: Number(values.rate),
    workDir,
    ui: !values['no-ui'],
    bridge: !values['no-bridge'],
    ...(values.faults && { faults: new Set(values.faults.split(',') as Fault['kind'][]) }),
    log: (line) => console.log(line),
  });
  const files = writeReport(result, new URL('results/', import.meta.url).pathname);
  console.table(result.accounts.map(({ lostIds: _ids, ...account }) => account));
  console.log(`acknowledged: ${JSON.stringify(result.acked)}; lost: ${lostTotal(result)}`);
  console.log(`restart to ready (ms): ${result.restartsMs.map((ms) => ms.toFixed(0)).join(', ')}`);
  for (const refused of result.refusedStarts) console.log(`start refused after a kill, tried again: ${refused}`);
  console.log(
    `RSS at the end of each life ${result.rssEndOfLifeMb.join(', ')} MB, trend ${result.rssEndOfLifeSlopeMbPerHour.toFixed(1)} MB/hour (every settled sample: ${result.rssSlopeMbPerHour.toFixed(1)} MB/hour); fds ${result.fdsSlopePerHour.toFixed(1)}/hour`,
  );
  console.log(`UI: ${JSON.stringify(result.ui)}`);
  console.log(`report: ${files.html}\nsummary: ${files.json}`);
  process.exitCode = lostTotal(result) === 0 ? 0 : 1;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
