/**
 * The soak's report: a JSON summary and one self-contained HTML page (inline SVG charts, no
 * outside assets) that a plant manager can read — the verdict first, then RSS, file descriptors,
 * latency, throughput, backlog and dead messages over time, with the faults marked on the time axis.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Point } from './ledger.ts';
import type { Fault, SoakResult } from './run.ts';

const colors = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#57606a'];
const faultColors: Record<Fault['kind'], string> = {
  'kill-9': '#d1242f',
  'bridge-outage': '#9a6700',
  'consumer-stall': '#8250df',
  'disk-full': '#57606a',
  replay: '#1a7f37',
};

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The verdict: no acknowledged message lost anywhere. */
export function lostTotal(result: SoakResult): number {
  return result.accounts.reduce((sum, account) => sum + account.lost, 0);
}

function chart(
  title: string,
  unit: string,
  series: { name: string; points: readonly Point[] }[],
  result: SoakResult,
): string {
  const width = 900;
  const height = 220;
  const pad = { left: 56, right: 12, top: 12, bottom: 28 };
  const endMs = result.minutes * 60_000 + 10_000;
  const all = series.flatMap((s) => s.points);
  const maxY = Math.max(1, ...all.map((p) => p.value)) * 1.1;
  const x = (at: number) => pad.left + (at / endMs) * (width - pad.left - pad.right);
  const y = (value: number) => height - pad.bottom - (value / maxY) * (height - pad.top - pad.bottom);
  const lines = series
    .map((s, i) => {
      if (s.points.length === 0) return '';
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5"/>`;
    })
    .join('');
  const faults = result.faults
    .map((f) => {
      const color = faultColors[f.kind];
      const band =
        f.endAt !== undefined
          ? `<rect x="${x(f.at)}" y="${pad.top}" width="${Math.max(1, x(f.endAt) - x(f.at))}" height="${height - pad.top - pad.bottom}" fill="${color}" opacity="0.12"/>`
          : '';
      return `${band}<line x1="${x(f.at)}" x2="${x(f.at)}" y1="${pad.top}" y2="${height - pad.bottom}" stroke="${color}" stroke-dasharray="3 3"><title>${escape(f.kind)}: ${escape(f.detail)}</title></line>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<text x="${pad.left - 6}" y="${y(maxY * t) + 4}" text-anchor="end">${(maxY * t).toFixed(maxY < 10 ? 1 : 0)}</text>`,
    )
    .join('');
  const minutes = Array.from({ length: Math.floor(endMs / 60_000) + 1 }, (_, m) => m)
    .filter((m) => m % Math.max(1, Math.ceil(result.minutes / 10)) === 0)
    .map((m) => `<text x="${x(m * 60_000)}" y="${height - 8}" text-anchor="middle">${m} min</text>`)
    .join('');
  const legend = series
    .map((s, i) => `<span class="key"><i style="background:${colors[i % colors.length]}"></i>${escape(s.name)}</span>`)
    .join('');
  return `<section><h2>${escape(title)} <small>(${escape(unit)})</small></h2><div class="legend">${legend}</div>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escape(title)}"><rect x="${pad.left}" y="${pad.top}" width="${width - pad.left - pad.right}" height="${height - pad.top - pad.bottom}" fill="none" stroke="#d0d7de"/>${faults}${lines}${ticks}${minutes}</svg></section>`;
}

export function renderHtml(result: SoakResult): string {
  const lost = lostTotal(result);
  const acked = Object.values(result.acked).reduce((a, b) => a + b, 0);
  const worstRestart = Math.max(...result.restartsMs.slice(1), 0);
  const rows = result.accounts
    .map(
      (a) =>
        `<tr><td>${escape(a.sink)}</td><td>${a.owed}</td><td>${a.consumed}</td><td>${a.queued}</td><td>${a.dead}</td><td class="${a.lost ? 'bad' : 'good'}">${a.lost}</td><td>${a.duplicates}</td></tr>`,
    )
    .join('');
  const faults = result.faults
    .map(
      (f) =>
        `<li><b>${(f.at / 1000).toFixed(0)} s</b> ${escape(f.kind)}: ${escape(f.detail)}${f.endAt ? ` (until ${(f.endAt / 1000).toFixed(0)} s)` : ''}</li>`,
    )
    .join('');
  const latency = Object.entries(result.series.latencyMs).flatMap(([via, s]) => [
    { name: `${via} p50`, points: s.p50 },
    { name: `${via} p99`, points: s.p99 },
  ]);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice soak report</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328;max-width:960px}h1{font-size:22px}h2{font-size:16px;margin:18px 0 4px}
.verdict{padding:12px 16px;border-radius:6px;font-size:16px}.pass{background:#dafbe1}.fail{background:#ffebe9}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.good{color:#1a7f37;font-weight:600}.bad{color:#d1242f;font-weight:600}svg{width:100%;height:auto;font-size:10px;fill:#57606a}
.legend{font-size:12px}.key{margin-right:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
</style></head><body><h1>Sluice soak report</h1>
<p>${result.minutes} minutes from ${escape(result.startedAt)}: ${acked} messages acknowledged to publishers over MQTT 3.1.1, MQTT 5, AMQP 1.0 and HTTP; ${result.faults.filter((f) => f.kind === 'kill-9').length} kill -9 of the broker.</p>
<p class="verdict ${lost ? 'fail' : 'pass'}">${lost ? `${lost} acknowledged messages were not found` : 'Every acknowledged message accounted for'}: consumed, still queued, or in the dead message queue with a reason. Restart to ready: worst ${worstRestart.toFixed(0)} ms. RSS at the end of each broker life: ${result.rssEndOfLifeMb.join(', ')} MB, trend ${result.rssEndOfLifeSlopeMbPerHour.toFixed(1)} MB/hour (over every settled sample: ${result.rssSlopeMbPerHour.toFixed(1)} MB/hour, warm-up and catch-up after each restart included); file descriptors ${result.fdsSlopePerHour.toFixed(1)}/hour.</p>
<h2>Where every acknowledged message is</h2><table><tr><th>sink</th><th>owed</th><th>consumed</th><th>queued</th><th>dead</th><th>lost</th><th>duplicates</th></tr>${rows}</table>
<p>Acknowledged per protocol: ${Object.entries(result.acked)
    .map(([p, n]) => `${escape(p)} ${n}`)
    .join(
      ', ',
    )}; publishes refused or unacknowledged (not owed): ${result.refusedPublishes}. Duplicates are redeliveries after a kill, allowed at least once.</p>
${result.skippedFaults.length ? `<p>Faults not run: ${result.skippedFaults.map(escape).join('; ')}.</p>` : ''}
<p>UI: ${escape(result.ui.note)}${result.ui.longestTaskMs !== null ? `; longest main-thread task ${result.ui.longestTaskMs.toFixed(0)} ms` : ''}; page errors ${result.ui.pageErrors}.</p>
${chart('Broker memory (RSS)', 'MB', [{ name: 'RSS', points: result.series.rssMb }], result)}
${chart('Open file descriptors', 'count', [{ name: 'fds', points: result.series.fds }], result)}
${chart('End-to-end latency', 'ms', latency, result)}
${chart(
  'Acknowledged publishes',
  'msg/s',
  Object.entries(result.series.throughput).map(([name, points]) => ({ name, points })),
  result,
)}
${chart(
  'Backlog',
  'messages',
  Object.entries(result.series.backlog).map(([name, points]) => ({ name, points })),
  result,
)}
${chart('Dead messages', 'total', [{ name: 'dead', points: result.series.dead }], result)}
${chart('Disk use', 'MB', [{ name: 'data directory', points: result.series.diskMb }], result)}
<p>Retention keeps at most ${result.retentionMaxLogMb.toFixed(0)} MB of replay log.</p>
<h2>Faults</h2><ol>${faults}</ol>
<h2>Restarts (ms from spawn to serving)</h2><p>${result.restartsMs.map((ms, i) => (i === 0 ? `first start ${ms.toFixed(0)}` : ms.toFixed(0))).join(', ')}</p>
${result.refusedStarts.length ? `<p>Starts after a kill that exited instead of serving (each tried again a second later): ${result.refusedStarts.map(escape).join('; ')}</p>` : ''}
</body></html>`;
}

/** Writes soak-<time>.json and soak-<time>.html into `dir`; returns their paths. */
export function writeReport(result: SoakResult, dir: string): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = result.startedAt.replace(/[:.]/g, '-');
  const json = join(dir, `soak-${stamp}.json`);
  const html = join(dir, `soak-${stamp}.html`);
  const { series: _series, ...summary } = result;
  writeFileSync(json, JSON.stringify({ ...summary, lost: lostTotal(result) }, null, 2));
  writeFileSync(html, renderHtml(result));
  return { json, html };
}
