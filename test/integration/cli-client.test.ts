// The `sluice` client commands, run as real processes against a real broker over HTTP.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { contract } from '../../core/api/contract.ts';
import { main } from '../../core/cli.ts';
import { createBroker, type Broker } from '../../core/broker.ts';
import { loadConfig } from '../../core/config.ts';
import { testBrokerFlags } from '../helpers/broker.ts';
import { silentLogger } from '../../core/log.ts';
import { tempDir } from '../helpers/engine.ts';

type Run = { code: number; stdout: string; stderr: string };

/** Runs the CLI in this process (fast): the same main() the binary runs, output captured. */
async function sluice(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'sluice', ...args], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

/** Runs the CLI as its own process; never rejects, so exit codes can be asserted. */
function spawnSluice(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'core/cli.ts', ...args],
      { env: { ...process.env, SLUICE_URL: '' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('sluice client commands', () => {
  const { dir, cleanup } = tempDir();
  let broker: Broker;
  let url: string[];
  before(async () => {
    const config = loadConfig({ env: {}, flags: testBrokerFlags(dir) });
    broker = await createBroker(config, { logger: silentLogger() });
    url = ['--url', broker.httpUrl];
  });
  after(async () => {
    await broker.close();
    cleanup();
  });

  it('queues create and list print human tables', async () => {
    const created = await sluice([
      ...url,
      'queues',
      'create',
      'orders',
      '--subscriptions',
      'plant/+/orders',
      '--subscriptions',
      'plant/+/returns',
      '--max-depth-messages',
      '2',
      '--overflow',
      'dead-letter',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created queue orders/);
    assert.match(created.stdout, /subscriptions\s+plant\/\+\/orders plant\/\+\/returns/);
    const listed = await sluice([...url, 'queues', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+DEPTH\s+IN-FLIGHT/);
    assert.match(listed.stdout, /\norders\s+0\s+0\s+0\s/);
  });

  it('--json prints the operation output as the contract describes it', async () => {
    const shown = await sluice([...url, '--json', 'queues', 'show', 'orders']);
    assert.equal(shown.code, 0, shown.stderr);
    const queue = contract['queues.get'].output.parse(JSON.parse(shown.stdout));
    assert.equal(queue.config.overflow, 'dead-letter');
  });

  it('publish sends a message that browse then shows, headers and all', async () => {
    const published = await sluice([...url, 'publish', 'plant/a/orders', 'hello', '--headers', 'line=7']);
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /Published message \d+ → orders/);
    const browsed = await sluice([...url, '--json', 'queues', 'browse', 'orders']);
    const page = contract['queues.browse'].output.parse(JSON.parse(browsed.stdout));
    assert.equal(page.messages[0]!.message.payload, 'hello');
    assert.deepEqual(page.messages[0]!.message.headers, { line: '7' });
  });

  it('dead messages can be listed and exported as NDJSON, then purged with --all', async () => {
    for (const n of [1, 2]) await broker.engine.publish({ topic: 'plant/b/orders', payload: `over ${n}` });
    const listed = await sluice([...url, 'dmq', 'list', '--queue', 'orders']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /overflow/);
    const file = join(dir, 'dead.ndjson');
    const exported = await sluice([...url, 'dmq', 'export', '--queue', 'orders', '--output', file]);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    contract['dmq.export'].output.parse(JSON.parse(lines[0]!));
    const purged = await sluice([...url, 'dmq', 'purge', '--all']);
    assert.equal(purged.stdout.trim(), 'Purged 1 dead message(s)');
  });

  it('replay start --wait follows the replay until it completes', async () => {
    const replay = await sluice([
      ...url,
      'replay',
      'start',
      '--queue',
      'copy',
      '--create',
      '--from-beginning',
      '--wait',
    ]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /replay\s+\d+ \(completed\)/);
    assert.match(replay.stdout, /progress\s+3 of 3 replayed · 3 of 3 log message\(s\) scanned/);
  });

  it('stats prints broker, storage and queue state', async () => {
    const stats = await sluice([...url, 'stats']);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /published\s+3 \(0 refused\)/);
    assert.match(stats.stdout, /\ncopy\s+3\s/);
  });

  it('as a process it exits 0 ok, 1 refused, 2 usage, 3 unreachable, with errors on stderr', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const [ok, refused, invalid, unknown, down] = await Promise.all([
      spawnSluice([...url, 'queues', 'list']),
      spawnSluice([...url, 'queues', 'show', 'ghost']),
      spawnSluice([...url, 'publish', 'plant/#', 'x']),
      spawnSluice([...url, 'queues', 'explode']),
      spawnSluice(['--url', `http://127.0.0.1:${closedPort}`, 'queues', 'list']),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^NAME/);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /Queue not found: Queue "ghost" does not exist \[queue-not-found, HTTP 404\]/);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /Invalid topic/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command/);
    assert.equal(down.code, 3);
    assert.match(
      down.stderr,
      new RegExp(`Cannot reach the broker at http://127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED`),
    );
  });
});
