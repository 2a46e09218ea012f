/**
 * The README's commands on a machine where npm could not install the `electron` package: offline,
 * its postinstall cannot download the binary and npm drops the optional package with its types.
 * Typecheck, the build and the headless `npm start` path must not need it. The build and start
 * run here with the package hidden (test/helpers/hide-electron.mjs), so this holds on a machine
 * that has Electron installed too.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { tempDir } from '../helpers/engine.ts';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

const root = new URL('../../', import.meta.url).pathname;
const hideElectron = new URL('../helpers/hide-electron.mjs', import.meta.url).href;
const withoutElectron = { ...process.env, NODE_OPTIONS: `--import ${hideElectron}` };
const pinned = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> }
).optionalDependencies.electron!;

test('the electron package is optional and pinned to one exact version', () => {
  assert.match(pinned, /^\d+\.\d+\.\d+$/, 'an exact version, so the vendored types match it');
});

test("typecheck takes Electron's API from the vendored types of the pinned version, never from node_modules", () => {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(String(diagnostic.messageText)),
    },
  );
  assert.ok(config);
  const resolved = ts.resolveModuleName('electron', join(root, 'electron/main.ts'), config.options, ts.sys);
  assert.equal(resolved.resolvedModule?.resolvedFileName, join(root, 'types/electron/electron.d.ts'));

  const vendored = readFileSync(join(root, 'types/electron/electron.d.ts'), 'utf8');
  assert.equal(/^\/\/ Type definitions for Electron (\S+)/.exec(vendored)?.[1], pinned);
  // Where npm did install the package (a networked machine), its types are the same file.
  const installed = join(root, 'node_modules/electron/electron.d.ts');
  if (existsSync(installed))
    assert.ok(readFileSync(installed, 'utf8') === vendored, 'vendored types differ from node_modules/electron');
});

test('electron-vite builds the main process, the preload and the UI without the electron package', () => {
  const electronVite = join(root, 'node_modules/electron-vite/bin/electron-vite.js');
  const result = spawnSync(process.execPath, [electronVite, 'build'], {
    cwd: root,
    env: withoutElectron,
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, `electron-vite build failed:\n${result.stdout}\n${result.stderr}`);
  for (const file of ['out/main/main.js', 'out/preload/preload.cjs', 'out/renderer/index.html'])
    assert.ok(existsSync(join(root, file)), `${file} was not built`);
});

test('npm start without the electron package starts the headless broker and serves the UI', async (t) => {
  const data = tempDir('sluice-offline-start-');
  t.after(() => data.cleanup());
  const httpPort = await freePort();
  const start = spawn(
    process.execPath,
    [
      join(root, 'scripts/start.mjs'),
      ...['--data-dir', data.dir, '--http-port', String(httpPort)],
      ...['--mqtt-port', '0', '--mqtt-ws-port', '0', '--amqp-port', '0', '--log-level', 'warn'],
    ],
    { cwd: root, env: { ...withoutElectron, SLUICE_NO_BROWSER: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  start.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  start.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise((resolve) => start.once('exit', resolve));
  t.after(async () => {
    if (start.exitCode === null) start.kill('SIGTERM');
    await exited;
  });

  await waitFor(() => /serving http/.test(out) || start.exitCode !== null, {
    what: 'the headless broker serving',
    timeoutMs: 60_000,
  });
  assert.match(out, /Electron binary not available/);
  assert.match(out, /Starting the headless broker with the UI at/);
  const page = await fetch(`http://127.0.0.1:${httpPort}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<div id="root">/);
});
