/**
 * What electron-builder packs into the desktop app (electron-builder.yml, docs/release.md),
 * checked here by building the unpacked app for real: `electron-builder --dir` with a placeholder
 * Electron distribution (electronDist; the real binary cannot be downloaded here, and the
 * placeholder is never run) and without the native rebuild (npmRebuild false: it needs Electron's
 * headers from the network, and it rebuilds ./node_modules in place). The release workflow builds
 * the same layout with the real Electron and the rebuilt addon.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extractFile, listPackage } from '@electron/asar';
import { appNames, unpackedExecutable } from '../e2e-electron/packaged-app.ts';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies: { electron: string };
};

// The placeholder distribution is shaped like Electron's Linux one; the workflow covers the others.
const skip = process.platform === 'linux' ? undefined : 'the placeholder Electron distribution is Linux-shaped';

describe('the packaged app layout (electron-builder --dir)', { skip }, () => {
  let work: string;
  let resources: string;
  let asar: string;
  let entries: Set<string>;

  before(() => {
    if (!existsSync(join(root, 'out/main/main.js')) || !existsSync(join(root, 'out/renderer/index.html'))) {
      const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
      assert.equal(build.status, 0, 'npm run build');
    }
    work = mkdtempSync(join(tmpdir(), 'sluice-layout-'));
    const electronDist = join(work, 'electron-dist');
    mkdirSync(join(electronDist, 'resources'), { recursive: true });
    writeFileSync(join(electronDist, 'electron'), '#!/bin/sh\necho "placeholder, not Electron" >&2\nexit 1\n');
    chmodSync(join(electronDist, 'electron'), 0o755);
    writeFileSync(join(electronDist, 'LICENSE'), 'placeholder\n');
    const output = join(work, 'dist');
    const result = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/electron-builder/cli.js'),
        '--config',
        'electron-builder.yml',
        '--dir',
        '--publish',
        'never',
        `-c.directories.output=${output}`,
        `-c.electronDist=${electronDist}`,
        // node_modules/electron is absent where its binary could not be downloaded; the pin says the version.
        `-c.electronVersion=${pkg.optionalDependencies.electron}`,
        '-c.npmRebuild=false',
      ],
      { cwd: root, encoding: 'utf8', timeout: 180_000 },
    );
    assert.equal(result.status, 0, `electron-builder --dir failed:\n${result.stdout}\n${result.stderr}`);
    const executable = unpackedExecutable('linux', process.arch, output, appNames());
    assert.ok(existsSync(executable), `${executable} exists`);
    resources = join(dirname(executable), 'resources');
    asar = join(resources, 'app.asar');
    entries = new Set(listPackage(asar, { isPack: false }));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the asar holds the built main, preload and renderer; the icons and every demo scenario sit beside it, where core/resources.ts looks', () => {
    for (const file of ['/out/main/main.js', '/out/preload/preload.cjs', '/out/renderer/index.html'])
      assert.ok(entries.has(file), file);
    assert.ok(
      ![...entries].some((entry) => entry.startsWith('/out/core/')),
      'the npm package’s compiled core stays out',
    );
    for (const icon of ['icon.png', 'tray.png']) assert.ok(existsSync(join(resources, icon)), icon);
    const scenarios = readdirSync(join(root, 'resources/scenarios')).filter((name) => name.endsWith('.json'));
    assert.ok(scenarios.length > 0);
    for (const scenario of scenarios)
      assert.ok(existsSync(join(resources, 'scenarios', scenario)), `scenario ${scenario} is packed`);
    assert.ok(![...entries].some((entry) => entry.endsWith('.map')), 'no source maps');
  });

  test("the packed package.json's main is the built main process", () => {
    const packed = JSON.parse(extractFile(asar, 'package.json').toString()) as { main?: string };
    assert.equal(packed.main, 'out/main/main.js');
  });

  test('every production dependency is packed, and no development tool', () => {
    for (const dependency of Object.keys(pkg.dependencies))
      assert.ok(entries.has(`/node_modules/${dependency}/package.json`), `${dependency} is packed`);
    for (const tool of ['typescript', 'tsx', 'vite', 'electron-builder', 'playwright-core', 'eslint'])
      assert.ok(!entries.has(`/node_modules/${tool}`), `${tool} is not packed`);
    assert.ok(![...entries].some((entry) => entry.startsWith('/node_modules/electron/')), 'electron is not packed');
  });

  test('better-sqlite3 is unpacked beside the asar with its native addon, without its sources', () => {
    const unpacked = join(resources, 'app.asar.unpacked/node_modules/better-sqlite3');
    assert.ok(existsSync(join(unpacked, 'build/Release/better_sqlite3.node')), 'better_sqlite3.node is unpacked');
    assert.ok(existsSync(join(unpacked, 'lib/index.js')));
    for (const left of ['deps', 'src', 'build/Release/obj', 'build/Release/test_extension.node'])
      assert.ok(!existsSync(join(unpacked, left)), `${left} is left out`);
    // The asar's header marks the addon unpacked, so Electron loads it from app.asar.unpacked.
    assert.ok(entries.has('/node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
  });
});
