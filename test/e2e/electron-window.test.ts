/**
 * The same UI flows against the Electron window, through Playwright's Electron support, when an
 * Electron binary is present. Where it is not (CI, an air-gapped laptop), the suite is skipped
 * and says why: the browser suites above cover the renderer over HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { ensureRendererBuild, screenshot } from './ui-harness.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The Electron binary, or why there is none. */
function electronBinary(): { path: string } | { reason: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    if (typeof path === 'string' && existsSync(path)) return { path };
    // Under tsx, `electron` resolves to the vendored types (tsconfig paths) when npm dropped the package.
    if (typeof path !== 'string') return { reason: 'the electron package is not installed' };
    return { reason: `the electron package names no binary at ${path}` };
  } catch (error) {
    return { reason: (error as Error).message.split('\n')[0]! };
  }
}

const binary = electronBinary();
const skip =
  'reason' in binary
    ? `Electron binary not available (${binary.reason}); install it with network access (npm install electron) to run the desktop e2e suite`
    : undefined;

describe('Electron window', { skip }, () => {
  let app: ElectronApplication;
  let page: Page;
  let dataDir: string;
  before(async () => {
    ensureRendererBuild();
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-electron-'));
    app = await electron.launch({
      executablePath: (binary as { path: string }).path,
      args: [join(root, 'out/main/main.js'), '--no-sandbox'],
      // Every listener on a free port, a fresh data directory: never the user's broker.
      env: {
        ...process.env,
        SLUICE_DATA_DIR: dataDir,
        SLUICE_HTTP_PORT: '0',
        SLUICE_MQTT_PORT: '0',
        SLUICE_MQTT_WS_PORT: '0',
      },
    });
    page = await app.firstWindow();
  });
  after(async () => {
    await app?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the window talks to the core over IPC, sandboxed, and publishes into its topic tree', async () => {
    assert.equal(await page.evaluate(() => typeof (globalThis as { sluice?: unknown }).sluice), 'object');
    assert.equal(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined');
    // First run of the desktop app: the setup page creates the administrator over IPC, and the
    // window is then logged in as it (electron/ipc.ts keeps the token in the main process).
    const setup = page.getByRole('form', { name: 'First-run setup' });
    await setup.getByLabel('Password (at least 8 characters)').fill('desktop-admin-pw');
    await setup.getByLabel('Password again').fill('desktop-admin-pw');
    await setup.getByRole('button', { name: 'Create administrator and log in' }).click();
    await page.getByTestId('who').getByText('admin', { exact: true }).first().waitFor();
    await page.getByText('Desktop (IPC)').waitFor();
    await page.keyboard.press('6');
    await page.getByLabel('Topic').fill('desk/line1/check');
    await page.getByLabel('Payload', { exact: true }).fill('from the window');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText(/Published as message \d+/).waitFor();
    await page.keyboard.press('2');
    await page.getByLabel('Filter topics').fill('check');
    await page.locator('[data-topic="desk/line1/check"]').click();
    await page.getByTestId('payload').getByText('from the window').waitFor();
    await screenshot(page, 'electron-topics');
  });
});
