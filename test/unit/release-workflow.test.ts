/**
 * The installer pipeline (.github/workflows/release.yml, docs/release.md) cannot run here (no
 * network, no Electron binary), so what can be checked here is: the workflow parses, builds on
 * the three OSes, uploads what electron-builder.yml says it builds, tests the installed app
 * (under Xvfb on Linux), and every command it runs exists — an `npm run` script renamed in
 * package.json, a moved file or a dropped tool fails this test instead of the first release.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly 'runs-on': string;
  readonly strategy?: { matrix: { include: { os: string; platform: string; installers: string }[] } };
  readonly steps: readonly Step[];
  readonly needs?: string;
  readonly if?: string;
}
interface Workflow {
  readonly on: { push?: { tags?: string[] } };
  readonly jobs: Record<string, Job>;
}
interface PackageJson {
  readonly scripts: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
}
interface BuilderConfig {
  readonly npmRebuild?: boolean;
  readonly asarUnpack?: string[];
  readonly files?: string[];
  readonly linux?: { target: string[] };
  readonly win?: { target: string[] };
  readonly mac?: { target: string[] };
}

const workflow = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as Workflow;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
const builder = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const installers = workflow.jobs.installers!;
const allSteps = Object.values(workflow.jobs).flatMap((job) => job.steps);

/** What a `run:` command refers to in this repository. */
interface References {
  /** `npm run x`, `npm test`, `npm start`. */
  readonly scripts: string[];
  /** `npx x`: a tool from the project's dependencies. */
  readonly tools: string[];
  /** Files run by `node` or named by `--config`. */
  readonly files: string[];
}

/** The scripts, tools and files one `run:` text refers to. */
function referencesOf(run: string): References {
  const scripts = [...run.matchAll(/\bnpm (?:run|run-script) ([\w:.-]+)/g)].map((m) => m[1]!);
  scripts.push(...[...run.matchAll(/\bnpm (test|start)\b/g)].map((m) => m[1]!));
  const tools = [...run.matchAll(/\bnpx (?:--no-install |--yes |-y )?([@\w/.-]+)/g)].map((m) => m[1]!);
  const files = [
    ...[...run.matchAll(/\bnode (?:--[\w-]+(?:[= ]\S+)? )*([\w./-]+\.(?:m?js|ts))\b/g)].map((m) => m[1]!),
    ...[...run.matchAll(/--config[= ]([\w./-]+)/g)].map((m) => m[1]!),
  ];
  return { scripts, tools, files };
}

/** Why a `run:` text would fail in this checkout: missing scripts, tools not in package.json, missing files. */
function runProblems(run: string, manifest: PackageJson, fileExists: (path: string) => boolean): string[] {
  const { scripts, tools, files } = referencesOf(run);
  const declared = { ...manifest.dependencies, ...manifest.devDependencies };
  return [
    ...scripts
      .filter((name) => !(name in manifest.scripts))
      .map((name) => `npm script "${name}" is not in package.json`),
    ...tools.filter((name) => !(name in declared)).map((name) => `npx ${name}: not a dependency in package.json`),
    ...files.filter((file) => !fileExists(file)).map((file) => `${file} does not exist`),
  ];
}

describe('the installer workflow', () => {
  test('builds on Linux, Windows and macOS, each platform to the end even when another fails', () => {
    const matrix = installers.strategy!.matrix.include;
    assert.deepEqual(
      matrix.map(({ os, platform }) => ({ os, platform })),
      [
        { os: 'ubuntu-latest', platform: 'linux' },
        { os: 'windows-latest', platform: 'win' },
        { os: 'macos-latest', platform: 'mac' },
      ],
    );
    assert.equal(installers['runs-on'], '${{ matrix.os }}');
    assert.equal((installers.strategy as { 'fail-fast'?: boolean })['fail-fast'], false);
  });

  test('installs with npm ci on Node 20, builds the app, then runs electron-builder with this config', () => {
    const setupNode = installers.steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
    assert.equal(setupNode?.with?.['node-version'], 20);
    const runs = installers.steps.map((step) => step.run?.trim()).filter((run) => run !== undefined);
    const at = (prefix: string) => runs.findIndex((run) => run.startsWith(prefix));
    assert.ok(at('npm ci') >= 0, 'npm ci');
    assert.ok(at('npm ci') < at('npm run build'), 'build after install');
    assert.ok(at('npm run build') < at('npx electron-builder --config electron-builder.yml'), 'installers after build');
    assert.ok(at('npx electron-builder') < runs.findIndex((run) => run.includes('test:e2e-electron')), 'e2e last');
    assert.match(runs[at('npx electron-builder')]!, /--publish never/, 'CI builds never publish by themselves');
  });

  test('every command it runs exists: npm scripts in package.json, npx tools as dependencies, files on disk', () => {
    const runs = allSteps.flatMap((step) => (step.run ? [step.run] : []));
    const found = runs.map(referencesOf);
    // The check must have found the commands the pipeline rests on, or it checks nothing.
    assert.deepEqual([...new Set(found.flatMap((r) => r.scripts))].sort(), ['build', 'test:e2e-electron']);
    assert.deepEqual([...new Set(found.flatMap((r) => r.tools))], ['electron-builder']);
    assert.deepEqual(found.flatMap((r) => r.files).sort(), [
      'electron-builder.yml',
      'test/e2e-electron/install-app.ts',
    ]);
    const problems = runs.flatMap((run) => runProblems(run, pkg, (file) => existsSync(join(root, file))));
    assert.deepEqual(problems, []);
  });

  test('a script renamed in package.json, a dropped tool or a moved file is reported', () => {
    const renamed: PackageJson = { scripts: { build: 'x', 'test:desktop': 'y' }, devDependencies: {} };
    const problems = runProblems(
      'npm ci\nnpm run build && npm run test:e2e-electron\nnpx electron-builder --config gone.yml\nnode --import tsx a/b.ts',
      renamed,
      () => false,
    );
    assert.deepEqual(problems, [
      'npm script "test:e2e-electron" is not in package.json',
      'npx electron-builder: not a dependency in package.json',
      'a/b.ts does not exist',
      'gone.yml does not exist',
    ]);
  });

  test('uploads exactly the installers electron-builder.yml builds for each platform', () => {
    const extension: Record<string, string> = { AppImage: '.AppImage', deb: '.deb', nsis: '.exe', dmg: '.dmg' };
    for (const entry of installers.strategy!.matrix.include) {
      const targets = builder[entry.platform as 'linux' | 'win' | 'mac']!.target;
      const patterns = entry.installers.trim().split('\n');
      for (const target of targets) {
        assert.ok(extension[target], `a known extension for target ${target}`);
        assert.ok(
          patterns.some((pattern) => pattern.endsWith(`*${extension[target]}`)),
          `${entry.platform}: ${target} is uploaded`,
        );
      }
    }
    assert.deepEqual(builder.linux?.target, ['AppImage', 'deb']);
    assert.deepEqual(builder.win?.target, ['nsis']);
    assert.deepEqual(builder.mac?.target, ['dmg']);
    const upload = installers.steps.find((step) => step.name === 'Upload the installers');
    assert.equal(upload?.with?.path, '${{ matrix.installers }}');
    assert.equal(upload?.with?.['if-no-files-found'], 'error');
  });

  test('installs the installer and runs the desktop e2e suite against it, under Xvfb on Linux', () => {
    const install = installers.steps.findIndex((step) => step.run?.includes('test/e2e-electron/install-app.ts'));
    assert.match(installers.steps[install]!.run!, /SLUICE_APP_PATH=.*GITHUB_ENV/);
    const e2e = installers.steps.filter((step) => step.run?.includes('npm run test:e2e-electron'));
    assert.deepEqual(
      e2e.map((step) => ({ if: step.if, xvfb: step.run!.trim().startsWith('xvfb-run ') })),
      [
        { if: "runner.os == 'Linux'", xvfb: true },
        { if: "runner.os != 'Linux'", xvfb: false },
      ],
    );
    assert.ok(installers.steps.indexOf(e2e[0]!) > install, 'e2e after the install');
  });

  test('a v* tag drafts a release from the uploaded installers; nothing is published by itself', () => {
    assert.deepEqual(workflow.on.push?.tags, ['v*']);
    const release = workflow.jobs.release!;
    assert.equal(release.needs, 'installers');
    assert.equal(release.if, "startsWith(github.ref, 'refs/tags/v')");
    assert.match(release.steps.at(-1)!.run!, /gh release create .*--draft/);
  });
});

describe('the native module in the package', () => {
  test('electron-builder rebuilds native modules for Electron and keeps better-sqlite3 outside the asar', () => {
    assert.equal(builder.npmRebuild, true);
    assert.ok(
      builder.asarUnpack?.some((pattern) => /^node_modules\/better-sqlite3\/(\*\*|\*\*\/\*\.node)$/.test(pattern)),
      'better_sqlite3.node is unpacked',
    );
    assert.ok('better-sqlite3' in (pkg.dependencies ?? {}), 'better-sqlite3 is a production dependency');
  });

  test('the deb depends on the libraries the Electron binary loads, so apt installs them', () => {
    const depends = (builder as { deb?: { depends?: string[] } }).deb?.depends ?? [];
    for (const library of ['libgtk-3-0', 'libnss3', 'libgbm1', 'libasound2', 'libxss1', 'libxtst6'])
      assert.ok(depends.includes(library), library);
  });

  test('the Electron package itself is kept out of the app', () => {
    assert.ok(builder.files?.includes('!node_modules/electron/**'));
  });

  test('the desktop e2e suite is not part of npm test (it needs the packaged app)', () => {
    assert.doesNotMatch(pkg.scripts['test:all']!, /e2e-electron/);
    assert.doesNotMatch(pkg.scripts.test!, /e2e-electron/);
  });
});
