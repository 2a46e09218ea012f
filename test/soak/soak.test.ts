/**
 * The soak's short run (bench/soak.ts runs it for 30 minutes): two minutes of `sluice serve` under
 * the mixed plant workload with kill -9, a bridge outage, a stalled consumer, a full disk and
 * replays, and the same account at the end: every acknowledged message consumed, still queued or
 * dead with a reason, on every protocol.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers/engine.ts';
import { missingPeers } from '../../scripts/peers.mjs';
import { renderHtml } from '../../bench/soak/report.ts';
import { runSoak } from '../../bench/soak/run.ts';

test(
  'two minutes of mixed load with kill -9, outages and a full disk lose no acknowledged message',
  { timeout: 600_000 },
  async () => {
    const { dir, cleanup } = tempDir('sluice-soak-test-');
    try {
      const missing = missingPeers();
      const result = await runSoak({
        minutes: 2,
        perSecond: 20,
        workDir: dir,
        ui: !missing.includes('chromium'),
        bridge: !missing.includes('mosquitto'),
        log: () => {},
      });
      const kills = result.faults.filter((fault) => fault.kind === 'kill-9').length;
      assert.ok(kills >= 2, `the broker was killed ${kills} times`);
      assert.equal(result.restartsMs.length, kills + 1, 'every restart became ready');
      for (const account of result.accounts) {
        assert.ok(account.owed > 0, `${account.sink} was owed messages`);
        assert.equal(account.lost, 0, `${account.sink} lost ${account.lost}: ${account.lostIds.join(', ')}`);
      }
      for (const protocol of ['mqtt311', 'mqtt5', 'amqp', 'http'])
        assert.ok((result.acked[protocol] ?? 0) > 0, `${protocol} publishes were acknowledged`);
      assert.ok(result.series.rssMb.length > 0, 'RSS was sampled');
      if (!missing.includes('chromium'))
        assert.ok(result.ui.opened, `the UI page was open during the run: ${result.ui.note}`);
      assert.match(renderHtml(result), /Every acknowledged message accounted for/);
    } finally {
      cleanup();
    }
  },
);
