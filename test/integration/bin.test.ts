/**
 * The `sluice` bin (bin/sluice.mjs) of this checkout: it runs the compiled core, gives `serve` the
 * broker's V8 flags (core/node-flags.ts) by starting Node once more, never does so for --help or
 * --version, and a broker it started stops cleanly when the launcher is killed.
 *
 * Every Node process the bin starts is counted by a module preloaded through NODE_OPTIONS, which
 * writes its pid and flags to a file.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { brokerNodeFlags } from '../../core/node-flags.ts';
import { tempDir } from '../helpers/engine.ts';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/sluice.mjs');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** An environment whose every Node process appends `pid flags…` to a file; `starts()` reads them. */
function countingNodeStarts(dir: string) {
  const log = join(dir, 'node-starts.log');
  const counter = join(dir, 'count-start.mjs');
  writeFileSync(
    counter,
    `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(log)}, process.pid + ' ' + process.execArgv.join(' ') + '\\n');\n`,
  );
  return {
    env: { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(counter).href}` },
    starts: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((line) => ({ pid: Number(line.split(' ')[0]), flags: line.split(' ').slice(1) }))
        : [],
  };
}

/** This checkout's sources and node_modules in `dir`, but no out/ (a fresh edit before any build); returns its bin. */
function sourceCheckout(dir: string): string {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(bin, join(dir, 'bin/sluice.mjs'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'core'), join(dir, 'core'), 'junction');
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'junction');
  return join(dir, 'bin/sluice.mjs');
}

describe('the sluice bin of a checkout', () => {
  it('runs the compiled core (npm install built out/core), printing the version with one Node process', (t) => {
    assert.ok(existsSync(join(root, 'out/core/cli.js')), 'out/core/cli.js is missing: npm run build:core');
    const dir = tempDir('sluice-bin-');
    t.after(() => dir.cleanup());
    const counting = countingNodeStarts(dir.dir);
    for (const args of [['--version'], ['serve', '--version'], ['serve', '--help']]) {
      const result = spawnSync(process.execPath, [bin, ...args], { env: counting.env, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /tsx/, 'no fallback to the TypeScript sources');
    }
    assert.equal(counting.starts().length, 3, 'one Node process per command: no second start for help or version');
    const printed = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    assert.equal(printed.stdout.trim(), version);
  });

  it('a checkout without the compiled core runs the sources through tsx and says so', (t) => {
    const dir = tempDir('sluice-bin-fallback-');
    t.after(() => dir.cleanup());
    const result = spawnSync(process.execPath, [sourceCheckout(dir.dir), '--version'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
    assert.match(result.stderr, /no compiled core \(npm run build:core\); running the TypeScript sources through tsx/);
  });

  it('without the compiled core or tsx (a badly packed package) the bin says what is missing', (t) => {
    const dir = tempDir('sluice-bin-nothing-');
    t.after(() => dir.cleanup());
    mkdirSync(join(dir.dir, 'bin'));
    copyFileSync(bin, join(dir.dir, 'bin/sluice.mjs'));
    const result = spawnSync(process.execPath, [join(dir.dir, 'bin/sluice.mjs'), '--help'], { encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the compiled core is missing \(.*out.core.cli\.js\)/);
    assert.match(result.stderr, /npm run build:core/);
  });

  it('serve misses a flag by its name, compiled or from the sources: the user’s own size wins', (t) => {
    // `serve` with a config file that is not there: the broker process exits 2 at once, after the
    // bin has decided whether to start Node again with the flags (core/node-flags.ts).
    const dir = tempDir('sluice-bin-missing-');
    t.after(() => dir.cleanup());
    const serve = ['serve', '--config', join(dir.dir, 'no-such-config.json')];
    const ownSize = brokerNodeFlags.map((flag) => `${flag.split('=')[0]}=64`).join(' ');
    const bins = { compiled: bin, sources: sourceCheckout(join(dir.dir, 'checkout')) };
    for (const [layout, path] of Object.entries(bins)) {
      for (const own of [false, true]) {
        const counted = join(dir.dir, `${layout}-${own ? 'own-size' : 'no-flags'}`);
        mkdirSync(counted);
        const counting = countingNodeStarts(counted);
        const env = { ...counting.env, NODE_OPTIONS: `${counting.env.NODE_OPTIONS}${own ? ` ${ownSize}` : ''}` };
        const result = spawnSync(process.execPath, [path, ...serve], { env, encoding: 'utf8' });
        assert.equal(result.status, 2, `${layout}: ${result.stderr}`);
        assert.match(result.stderr, /no-such-config\.json/);
        const starts = counting.starts();
        if (own) assert.equal(starts.length, 1, `${layout}: the user's own size is kept, in one process`);
        else {
          assert.equal(starts.length, 2, `${layout}: the launcher and the broker`);
          for (const flag of brokerNodeFlags) assert.ok(starts[1]!.flags.includes(flag), `${layout}: ${flag} given`);
        }
      }
    }
  });

  it('serve without the broker flags starts Node again with them, and stops with the launcher', async (t) => {
    const dir = tempDir('sluice-bin-serve-');
    t.after(() => dir.cleanup());
    const counting = countingNodeStarts(dir.dir);
    const httpPort = await freePort();
    const launcher = spawn(
      process.execPath,
      [bin, 'serve', '--data-dir', join(dir.dir, 'data'), '--http-port', String(httpPort)],
      {
        env: {
          ...counting.env,
          ...{ SLUICE_MQTT_PORT: '0', SLUICE_MQTT_WS_PORT: '0', SLUICE_AMQP_PORT: '0', SLUICE_LOG_LEVEL: 'warn' },
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    launcher.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    launcher.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    t.after(() => {
      for (const { pid } of counting.starts()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    await waitFor(() => /serving http/.test(out) || launcher.exitCode !== null, {
      what: 'sluice serve ready',
      timeoutMs: 60_000,
    });
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/api/v1/health`)).status, 200);

    const starts = counting.starts();
    assert.equal(starts.length, 2, 'the launcher and the broker');
    assert.equal(starts[0]!.pid, launcher.pid);
    for (const flag of brokerNodeFlags) {
      assert.ok(!starts[0]!.flags.includes(flag), 'the launcher runs without the flags');
      assert.ok(starts[1]!.flags.includes(flag), `the broker runs with ${flag}`);
    }

    // kill -9 of the launcher gives the broker no signal; it learns it from its IPC channel and drains.
    const broker = starts[1]!.pid;
    launcher.kill('SIGKILL');
    await waitFor(() => !alive(broker), { what: 'the broker stopping after its launcher died', timeoutMs: 30_000 });
    assert.match(out, /SIGTERM: closing/);
  });

  it('serve started with the flags already given runs in that one process', async (t) => {
    const dir = tempDir('sluice-bin-flags-');
    t.after(() => dir.cleanup());
    const counting = countingNodeStarts(dir.dir);
    const httpPort = await freePort();
    const broker = spawn(
      process.execPath,
      [...brokerNodeFlags, bin, 'serve', '--data-dir', join(dir.dir, 'data'), '--http-port', String(httpPort)],
      {
        env: {
          ...counting.env,
          ...{ SLUICE_MQTT_PORT: '0', SLUICE_MQTT_WS_PORT: '0', SLUICE_AMQP_PORT: '0', SLUICE_LOG_LEVEL: 'warn' },
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    broker.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    broker.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => broker.once('exit', resolve));
    t.after(() => broker.kill('SIGKILL'));
    await waitFor(() => /serving http/.test(out) || broker.exitCode !== null, {
      what: 'sluice serve ready',
      timeoutMs: 60_000,
    });
    assert.deepEqual(
      counting.starts().map((start) => start.pid),
      [broker.pid],
    );
    broker.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGTERM: closing/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
