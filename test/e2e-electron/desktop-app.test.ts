/**
 * The packaged desktop app end to end (docs/release.md), through Playwright's Electron support:
 * the app electron-builder built — SLUICE_APP_PATH (the installed deb, NSIS or dmg app on the
 * release workflow), else dist/<platform>-unpacked — runs the desktop scenario (scenario.ts):
 * Overview, an MQTT publish seen in Topics, a clean quit, the data kept after a relaunch.
 *
 * Where there is no packaged app (no Electron binary can be downloaded here) the suite is
 * skipped and says why. Under CI=true it is never skipped: a missing app fails the run, as a
 * missing test peer does (test/helpers/peers.ts). Run it with `npm run test:e2e-electron`
 * (under `xvfb-run` on Linux without a display); it is not part of `npm test`.
 */
import { describe } from 'node:test';
import { _electron as electron } from 'playwright-core';
import { packagedAppHere } from './packaged-app.ts';
import { brokerNodeFlags } from '../../core/node-flags.ts';
import { cleanEnvironment, desktopScenario, type Ended, type LaunchApp } from './scenario.ts';

const app = packagedAppHere();
const missing = 'reason' in app ? app.reason : undefined;
const skip = missing && process.env.CI !== 'true' ? `packaged desktop app not available: ${missing}` : undefined;

/** Launches the packaged app (no script argument: the app's own main) and waits for its window. */
const launchPackagedApp: LaunchApp = async (configFile) => {
  const electronApp = await electron.launch({
    executablePath: (app as { path: string }).path,
    // With the broker's V8 flags given, the installed app does not start itself again (launch-flags.ts),
    // so Playwright keeps the process it launched.
    args: brokerNodeFlags.map((flag) => `--js-flags=${flag}`),
    env: cleanEnvironment(configFile),
    timeout: 90_000,
  });
  const page = await electronApp.firstWindow({ timeout: 90_000 });
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const child = electronApp.process();
  const exited = new Promise<Ended>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    page,
    pageErrors,
    // Playwright calls app.quit(), as the tray's Quit does: before-quit drains the broker first.
    quit: async () => {
      await electronApp.close();
      return exited;
    },
  };
};

describe('the packaged desktop app', { skip }, () => {
  desktopScenario('desktop', launchPackagedApp, () => {
    if (missing) throw new Error(`CI=true and no packaged desktop app to test: ${missing}`);
  });
});
