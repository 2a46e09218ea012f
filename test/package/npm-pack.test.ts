/**
 * The npm package as a user gets it: `npm pack` (which builds the compiled core and the UI), the
 * tarball installed into an empty folder with `npm install --omit=dev --offline`, then `npx sluice`
 * --help, --version and serve, answering HTTP and carrying an MQTT publish to a subscriber.
 *
 * Two things keep this offline and quick, and both are npm's, not Sluice's:
 * - npm 11 resolves a tarball's dependencies with *full* registry documents, while a lockfile
 *   install (`npm install` in the checkout) caches only the abbreviated ones. When the cache lacks
 *   them the install is retried with --prefer-offline (fetching those documents once), and the
 *   test says so; with no registry either, it is skipped with that reason.
 * - better-sqlite3's install script compiles SQLite (minutes) unless prebuild-install finds a
 *   prebuilt binary. The checkout's own build (same version, same Node ABI) is offered as a local
 *   prebuild (`npm_config_better_sqlite3_local_prebuilds`, documented in docs/packaging.md).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { tempDir } from '../helpers/engine.ts';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const minutes = (n: number) => n * 60_000;

/** npm itself: the one running `npm test` when there is one, else the one on PATH. */
function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const [command, prefix] = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath]]
    : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []];
  return spawnSync(command, [...prefix, ...args], { cwd, env, encoding: 'utf8', shell: process.platform === 'win32' });
}

/** The checkout's compiled better-sqlite3 as a prebuild-install tarball in `dir`. */
function offerLocalPrebuild(dir: string): void {
  const addon = join(root, 'node_modules/better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(addon, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tar = spawnSync('tar', ['-czf', join(dir, name), 'build/Release/better_sqlite3.node'], {
    cwd: addon,
    encoding: 'utf8',
  });
  assert.equal(tar.status, 0, `could not pack the checkout's better-sqlite3 build: ${tar.stderr}`);
}

/** Every file path in a tarball, without the leading `package/`. */
function tarballFiles(tarball: string): string[] {
  const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(list.status, 0, list.stderr);
  return list.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^package\//, ''));
}

describe('npm pack, installed offline into an empty folder', () => {
  const work = tempDir('sluice-npm-pack-');
  const consumer = join(work.dir, 'consumer');
  let tarball = '';
  let installSkipped: string | undefined;

  before(() => mkdirSync(consumer));
  after(() => work.cleanup());

  it('npm pack builds the compiled core and the UI and packs them with the scenarios', { timeout: minutes(5) }, () => {
    const packed = npm(['pack', '--pack-destination', work.dir], root);
    assert.equal(packed.status, 0, `npm pack failed:\n${packed.stdout}\n${packed.stderr}`);
    tarball = join(work.dir, `${pkg.name}-${pkg.version}.tgz`);
    assert.ok(existsSync(tarball), `${tarball} was not written`);

    const files = tarballFiles(tarball);
    const own = files.filter((file) => !file.startsWith('node_modules/'));
    for (const needed of [
      'package.json',
      'bin/sluice.mjs',
      'out/core/cli.js',
      'out/core/resources.js',
      'out/core/node-flags.js',
      'out/renderer/index.html',
      'resources/icon.png',
    ])
      assert.ok(own.includes(needed), `${needed} is not in the package`);
    const scenarios = readdirSync(join(root, 'resources/scenarios')).map((name) => `resources/scenarios/${name}`);
    for (const scenario of scenarios) assert.ok(own.includes(scenario), `${scenario} is not in the package`);
    // Nothing of the development tree: no sources the bin would need tsx for, no tests or tooling.
    const stray = own.filter((file) =>
      /^(core|electron|renderer\/src|test|bench|scripts|patches|types|docs)\/|\.tsx?$|tsbuildinfo$/.test(file),
    );
    assert.deepEqual(stray, [], 'development files in the package');
    assert.ok(!own.some((file) => file.startsWith('out/main/') || file.startsWith('out/preload/')), 'Electron bundles');
    // The patched dependencies ship patched (patch-package runs in a checkout only).
    assert.ok(files.includes('node_modules/aedes/aedes.js'), 'aedes is bundled');
    const aedes = spawnSync('tar', ['-xzOf', tarball, 'package/node_modules/aedes/aedes.js'], { encoding: 'utf8' });
    assert.match(aedes.stdout, /Sluice patch:/);
  });

  it('npm install --omit=dev --offline installs it with no dev tools', { timeout: minutes(5) }, (t) => {
    assert.ok(tarball, 'npm pack ran');
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'sluice-consumer', private: true }));
    const prebuilds = join(work.dir, 'prebuilds');
    mkdirSync(prebuilds);
    offerLocalPrebuild(prebuilds);
    // Electron is an optional dependency (the desktop app's); a networked machine would download
    // its 100 MB binary for nothing here.
    const env = {
      ...process.env,
      npm_config_better_sqlite3_local_prebuilds: prebuilds,
      ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
    };
    const install = (mode: string) =>
      npm(['install', '--omit=dev', mode, '--no-audit', '--no-fund', tarball], consumer, env);

    let installed = install('--offline');
    if (installed.status !== 0 && /ENOTCACHED/.test(installed.stderr)) {
      t.diagnostic('the npm cache lacks full registry documents for the dependencies: retrying with --prefer-offline');
      installed = install('--prefer-offline');
      if (
        installed.status !== 0 &&
        /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH/.test(installed.stderr)
      ) {
        installSkipped = 'npm needs full registry documents this cache lacks, and the registry is unreachable';
        t.skip(installSkipped);
        return;
      }
    }
    assert.equal(installed.status, 0, `npm install failed:\n${installed.stdout}\n${installed.stderr}`);

    const modules = join(consumer, 'node_modules');
    for (const devTool of ['tsx', 'typescript', 'electron-vite', 'vite', 'esbuild'])
      assert.ok(!existsSync(join(modules, devTool)), `${devTool} was installed`);
    assert.ok(existsSync(join(modules, 'better-sqlite3/build/Release/better_sqlite3.node')), 'better-sqlite3 built');
  });

  it('npx sluice --help and --version answer from the compiled core', { timeout: minutes(2) }, (t) => {
    if (installSkipped) return t.skip(installSkipped);
    const help = npm(['exec', '--offline', '--', 'sluice', '--help'], consumer);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: sluice/);
    assert.match(help.stdout, /serve/);
    assert.doesNotMatch(help.stderr, /tsx/);
    const version = npm(['exec', '--offline', '--', 'sluice', '--version'], consumer);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('npx sluice serve answers HTTP and MQTT, serves the UI, and stops cleanly', { timeout: minutes(2) }, async (t) => {
    if (installSkipped) return t.skip(installSkipped);
    const data = join(work.dir, 'data');
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const [command, prefix] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
    const serve = spawn(
      command,
      [
        ...prefix,
        ...['exec', '--offline', '--', 'sluice', 'serve', '--data-dir', data],
        ...['--http-port', String(httpPort), '--mqtt-port', String(mqttPort), '--mqtt-ws-port', '0'],
        ...['--amqp-port', '0', '--log-level', 'warn'],
      ],
      // Its own process group, so a failed test can end npm, its shell and the bin together.
      { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' },
    );
    let out = '';
    serve.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    serve.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
    t.after(() => {
      // The broker runs in a group of its own (bin/sluice.mjs) and drains when the bin is gone.
      if (serve.exitCode === null && process.platform !== 'win32') process.kill(-serve.pid!, 'SIGKILL');
    });
    await waitFor(() => /serving http/.test(out) || serve.exitCode !== null, {
      what: () => `sluice serve ready:\n${out}`,
      timeoutMs: 60_000,
    });
    assert.equal(serve.exitCode, null, out);

    const base = `http://127.0.0.1:${httpPort}`;
    const health = await fetch(`${base}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const page = await fetch(`${base}/`);
    assert.match(await page.text(), /<div id="root">/, 'the UI build from the package');

    const [username, password] = readFileSync(join(data, 'initial-admin-password'), 'utf8').trim().split(/:(.*)/s);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      username: username!,
      password: password!,
      clientId: 'npm-pack-test',
      reconnectPeriod: 0,
    });
    try {
      const received = new Promise<string>((resolve) =>
        client.once('message', (_topic, body) => resolve(String(body))),
      );
      await client.subscribeAsync('pack/check', { qos: 1 });
      await client.publishAsync('pack/check', 'from the packed broker', { qos: 1 });
      assert.equal(await received, 'from the packed broker');
    } finally {
      await client.endAsync();
    }

    // Stopped as a service manager or a terminal would stop the command: SIGTERM to `sluice`
    // itself (npm exec runs it through a shell, which would not pass a signal on).
    let launcher = serve.pid!;
    if (process.platform === 'linux') {
      const serving = processesWhoseCommandLineHas(data).filter(({ cmd }) => /bin\/sluice(\.mjs)? serve/.test(cmd));
      const broker = serving.find(({ cmd }) => cmd.includes('--max-semi-space-size=32'));
      assert.ok(
        broker,
        `the broker process runs with the V8 flags the bin adds for serve:\n${serving.map(({ cmd }) => cmd).join('\n')}`,
      );
      launcher = serving.find(({ cmd }) => cmd.includes('node_modules/.bin/sluice serve'))?.pid ?? launcher;
    }
    process.kill(launcher, 'SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGTERM: closing/);
  });
});

/** The processes whose command line (arguments joined by spaces) mentions `text` (Linux: /proc). */
function processesWhoseCommandLineHas(text: string): { pid: number; cmd: string }[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        return cmd.includes(text) ? [{ pid: Number(pid), cmd }] : [];
      } catch {
        return [];
      }
    });
}
