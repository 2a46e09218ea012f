/** The broker's V8 flags are given by every launcher that starts a broker process. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { brokerNodeFlags, missingNodeFlags } from '../../core/node-flags.ts';
import { relaunchArgs } from '../../electron/launch-flags.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

test('npm run serve and bench:core start node with the broker flags', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  for (const name of ['serve', 'bench:core']) {
    const args = scripts[name]!.split(/\s+/);
    for (const flag of brokerNodeFlags) assert.ok(args.includes(flag), `scripts.${name} lacks ${flag}`);
  }
});

test('the npm start launcher passes the broker flags to the headless broker and to Electron', () => {
  const launcher = read('scripts/start.mjs');
  for (const flag of brokerNodeFlags) {
    assert.ok(launcher.includes(`['${flag}', join(root, 'bin/sluice.mjs'), 'serve'`), `headless serve lacks ${flag}`);
    assert.ok(launcher.includes(`'--js-flags=${flag}'`), `Electron lacks --js-flags=${flag}`);
  }
});

test('a flag counts as given by its name, whatever value the user gave it', () => {
  // One rule for the bin (Node's flags and NODE_OPTIONS) and the desktop app (--js-flags); the bin
  // imports it with the flags, compiled or from the sources (test/integration/bin.test.ts runs both).
  const flags = ['--max-semi-space-size=32', '--stack-size=2000'];
  assert.deepEqual(missingNodeFlags([], flags), flags);
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size=32', '--stack-size=2000'], flags), []);
  assert.deepEqual(
    missingNodeFlags(['--max-semi-space-size=64'], flags),
    ['--stack-size=2000'],
    'the user’s own size wins',
  );
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size'], flags), ['--stack-size=2000']);
  assert.deepEqual(missingNodeFlags(['', '--import', 'tsx', '--max-old-space-size=32'], flags), flags);
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size-x=1'], flags), flags, 'a longer name is another flag');
});

test('an installed desktop app without the flags starts once more with them, and only once', () => {
  const exe = '/opt/Sluice/sluice';
  const flags = ['--max-semi-space-size=32'];
  assert.deepEqual(relaunchArgs([exe], {}, flags), ['--js-flags=--max-semi-space-size=32']);
  assert.deepEqual(relaunchArgs([exe, '--no-sandbox', '--js-flags=--jitless'], {}, flags), [
    '--no-sandbox',
    '--js-flags=--jitless --max-semi-space-size=32',
  ]);
  assert.equal(relaunchArgs([exe, '--js-flags=--max-semi-space-size=32'], {}, flags), undefined, 'given: no relaunch');
  assert.equal(
    relaunchArgs([exe, '--js-flags=--max-semi-space-size=64'], {}, flags),
    undefined,
    'the user’s own size wins',
  );
  assert.equal(relaunchArgs([exe], { SLUICE_RELAUNCHED: '1' }, flags), undefined, 'never a second relaunch');
  // The relaunched command line has the flags, so even without the guard it would not loop.
  assert.equal(relaunchArgs([exe, ...relaunchArgs([exe], {}, flags)!], {}, flags), undefined);
});

test('the desktop main process applies the relaunch, and the packaged e2e launch gives the flags', () => {
  const main = read('electron/main.ts');
  assert.match(main, /app\.isPackaged \? relaunchArgs\(process\.argv, process\.env, brokerNodeFlags\)/);
  assert.match(
    read('test/e2e-electron/desktop-app.test.ts'),
    /brokerNodeFlags\.map\(\(flag\) => `--js-flags=\$\{flag\}`\)/,
  );
});
