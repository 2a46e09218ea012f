// Online backup and restore (docs/handover.md): `sluice backup FILE` against a broker under MQTT
// QoS 1 load, then `sluice serve --restore FILE` on a new data directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import type { SluiceError } from '../../core/errors.ts';
import { backupDatabase, checkBackupFile, restoreDatabase } from '../../core/store/backup.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { openTestEngine, tempDir } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { runCli } from '../helpers/process.ts';

const mqttUrl = (url: string) => url.split(' ')[0]!;

describe('online backup under MQTT QoS 1 load, restored into a new data directory', () => {
  it('holds every message acknowledged before the backup began exactly once, passes integrity_check, and is served', async (t) => {
    const source = await startTestBroker({ queues: [{ name: 'line', subscriptions: ['plant/#'] }] });
    const { dir: restoreDir, cleanup: cleanupRestore } = tempDir('sluice-restore-');
    const backupFile = join(restoreDir, 'line.backup.db');
    const target = join(restoreDir, 'data');
    t.after(async () => {
      await source.cleanup();
      cleanupRestore();
    });
    const publisher = await mqtt.connectAsync(mqttUrl(source.broker.listeners.find((l) => l.name === 'mqtt')!.url), {
      clientId: 'backup-load',
      reconnectPeriod: 0,
    });
    const acked = new Set<number>();
    let next = 0;
    let stop = false;
    let stopRestored = async () => undefined as unknown;
    // Bounded load: windows of 50 QoS 1 publishes, until told to stop or 100 000 sent.
    const pump = (async () => {
      while (!stop && next < 100_000) {
        const window = Array.from({ length: 50 }, () => {
          const seq = next++;
          return publisher.publishAsync('plant/press/count', String(seq), { qos: 1 }).then(() => acked.add(seq));
        });
        await Promise.all(window);
      }
    })();
    try {
      await waitFor(() => acked.size >= 2000, { timeoutMs: 60_000, what: 'the first 2000 acknowledgements' });
      const before = new Set(acked); // acknowledged before the backup began
      const backup = await runCli(['--url', source.broker.httpUrl, 'backup', backupFile]);
      const during = acked.size - before.size;
      assert.equal(backup.code, 0, backup.stderr);
      assert.match(backup.stdout, /written to/);
      assert.ok(during > 0, 'publishes kept being acknowledged while the backup ran');
      stop = true;
      await pump;
      await publisher.endAsync();

      const restored = spawn(process.execPath, [
        '--import',
        'tsx',
        'core/cli.ts',
        'serve',
        '--restore',
        backupFile,
        '--data-dir',
        target,
        '--anonymous',
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--mqtt-ws-port',
        '0',
        '--amqp-port',
        '0',
        '--log-level',
        'silent',
      ]);
      let stdout = '';
      let stderr = '';
      restored.stdout.on('data', (chunk) => (stdout += chunk));
      restored.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise((resolve) => restored.on('exit', resolve));
      stopRestored = async () => {
        restored.kill('SIGTERM');
        return exited;
      };
      await waitFor(() => /serving (http:\/\/\S+)/.test(stdout), {
        timeoutMs: 30_000,
        what: () => `serve (${stderr})`,
      });
      assert.match(stderr, /Restored .* into /);
      const url = /serving (http:\/\/\S+)/.exec(stdout)![1]!;

      // Every message in the restored queue, by sequence number.
      const seen = new Map<number, number>();
      let after: string | null = null;
      do {
        const query: string = after === null ? '' : `&afterEntryId=${after}`;
        const page = (await (await fetch(`${url}/api/v1/queues/line/messages?limit=1000${query}`)).json()) as {
          messages: Array<{ message: { payload: string } }>;
          nextAfterEntryId: string | null;
        };
        for (const { message } of page.messages) {
          const seq = Number(message.payload);
          seen.set(seq, (seen.get(seq) ?? 0) + 1);
        }
        after = page.nextAfterEntryId;
      } while (after !== null);
      const missing = [...before].filter((seq) => !seen.has(seq));
      const twice = [...seen].filter(([, count]) => count > 1).map(([seq]) => seq);
      assert.deepEqual(missing, [], 'every message acknowledged before the backup began is restored');
      assert.deepEqual(twice, [], 'no message is restored twice');
      assert.ok(seen.size <= acked.size + 50, 'nothing appears that was never published');

      // The restored file passes SQLite's own check (read while the restored broker runs, WAL mode).
      const db = new Database(join(target, 'sluice.db'), { readonly: true });
      const integrity = db.pragma('integrity_check', { simple: true });
      db.close();
      assert.equal(integrity, 'ok');

      // And the restored broker serves: a new publish lands in the restored queue behind the old ones.
      const depth = async () => ((await (await fetch(`${url}/api/v1/queues/line`)).json()) as { depth: number }).depth;
      const depthBefore = await depth();
      const published = await fetch(`${url}/api/v1/topics/plant/press/count`, { method: 'POST', body: 'after' });
      assert.equal(published.status, 201);
      assert.equal(await depth(), depthBefore + 1);
    } finally {
      stop = true;
      await pump.catch(() => undefined);
      publisher.end(true);
      await stopRestored();
    }
  });
});

describe('backup and restore of a store', () => {
  it('reports progress page by page and writes a file that passes integrity_check', async (t) => {
    const test = await openTestEngine();
    t.after(() => test.cleanup());
    await test.engine.createQueue('bulk', { subscriptions: ['bulk/#'] });
    const payload = Buffer.alloc(8 * 1024, 7);
    await Promise.all(Array.from({ length: 200 }, () => test.engine.publish({ topic: 'bulk/x', payload })));
    const file = join(test.dir, 'copy.db');
    const seen: number[] = [];
    const result = await backupDatabase(
      test.engine.store.database,
      file,
      (progress) => seen.push(progress.remainingPages),
      16,
    );
    assert.ok(seen.length > 5, `several progress reports (${seen.length})`);
    assert.equal(seen[seen.length - 1], 0);
    assert.ok(result.totalPages > 100);
    assert.equal(checkBackupFile(file).bytes, result.bytes);
    assert.ok(!existsSync(`${file}.partial`));
  });

  it('restore refuses to overwrite an existing store unless forced', async (t) => {
    const test = await openTestEngine();
    t.after(() => test.cleanup());
    const file = join(test.dir, 'copy.db');
    await test.engine.store.backup(file);
    const target = join(test.dir, 'other', 'sluice.db');
    await restoreDatabase(file, target);
    await assert.rejects(restoreDatabase(file, target), (error: SluiceError) => {
      assert.equal(error.code, 'invalid-backup');
      assert.match(error.detail, /already holds a store/);
      return true;
    });
    await restoreDatabase(file, target, { force: true });
    assert.equal(checkBackupFile(target).schemaVersion > 0, true);

    // The same through `sluice restore`: a new directory works, an existing store is refused.
    const dataDir = join(test.dir, 'cli');
    const first = await runCli(['restore', file, '--data-dir', dataDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Restored .* into /);
    const again = await runCli(['restore', file, '--data-dir', dataDir]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /already holds a store/);
  });

  it('restore refuses a file that is not a Sluice backup and leaves nothing behind', async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a database'.repeat(100));
    const plain = join(dir, 'plain.db');
    const db = new Database(plain);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const target = join(dir, 'data', 'sluice.db');
    await assert.rejects(restoreDatabase(garbage, target), /not a readable SQLite database|integrity/);
    await assert.rejects(restoreDatabase(plain, target), /not a Sluice store/);
    assert.ok(!existsSync(target));
  });
});
