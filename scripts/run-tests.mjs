// Runs node:test over every *.test.ts below the given folders (Node 20's --test takes no globs).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { missingPeersLine } from './peers.mjs';

function collect(dir) {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return collect(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

// `--timeout-ms=N` before the folders: a suite that runs long by design (the soak).
const timeoutFlag = process.argv.slice(2).find((arg) => arg.startsWith('--timeout-ms='));
const files = process.argv
  .slice(2)
  .filter((arg) => arg !== timeoutFlag)
  .flatMap(collect);
if (files.length === 0) {
  console.error(`no test files under ${process.argv.slice(2).join(', ')}`);
  process.exit(1);
}
// Tests that need a missing outside program skip themselves (test/helpers/peers.ts) and this says
// so in one line. Under CI a missing peer is a failure: a green run must have run everything.
const missing = missingPeersLine();
if (missing && process.env.CI === 'true') {
  console.error(`run-tests: ${missing}\nrun-tests: CI=true, so a missing peer fails the run instead.`);
  process.exit(1);
}

// A hung test fails after two minutes; a soak sets --timeout-ms or SLUICE_TEST_TIMEOUT_MS.
const timeoutMs = Number(timeoutFlag?.split('=')[1] ?? process.env.SLUICE_TEST_TIMEOUT_MS ?? 120_000);
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=1',
    `--test-timeout=${timeoutMs}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
if (missing) console.log(`run-tests: ${missing}; the tests that need them were skipped`);
process.exit(result.status ?? 1);
