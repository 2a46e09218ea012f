/**
 * The desktop release scenario (test/e2e-electron/scenario.ts) against the same core and UI
 * without Electron: `sluice serve` as its own process, the UI in Debian's Chromium, Quit as
 * SIGTERM. It proves the scenario's steps and selectors here, where the packaged app cannot be
 * built; the release workflow runs the same scenario against the installed Electron app.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { chromium } from 'playwright-core';
import { cleanEnvironment, desktopScenario, type Ended, type LaunchApp } from '../e2e-electron/scenario.ts';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, chromiumPath, ensureRendererBuild } from './ui-harness.ts';

const root = new URL('../../', import.meta.url).pathname;

const launchHeadless: LaunchApp = async (configFile, ports) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'core/cli.ts', 'serve'], {
    cwd: root,
    env: cleanEnvironment(configFile),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Ended>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await waitFor(() => output.includes('serving http') || child.exitCode !== null, {
    timeoutMs: 60_000,
    what: () => `sluice serve to start (output so far: ${output})`,
  });
  if (child.exitCode !== null) throw new Error(`sluice serve exited with ${child.exitCode}: ${output}`);
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath()!,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`http://127.0.0.1:${ports.http}/`);
  return {
    page,
    pageErrors,
    quit: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // serve drains on SIGTERM
      return exited;
    },
  };
};

describe('the desktop release scenario, headless (sluice serve in Chromium)', { skip: browserSkipReason() }, () => {
  desktopScenario('headless', launchHeadless, ensureRendererBuild);
});
