/**
 * The packaged desktop app end to end (docs/release.md), through Playwright's Electron support:
 * the app electron-builder built (SLUICE_APP_PATH, e.g. the installed deb, NSIS or dmg app, or
 * dist/<platform>-unpacked) launches on a fresh data directory with security on, shows the
 * Overview, takes an MQTT publish from MQTT.js and shows the topic in the Topics view, quits
 * cleanly (the broker drains, exit code 0), and after a relaunch still holds the retained
 * message and the queued one.
 *
 * Where there is no packaged app (no Electron binary can be downloaded here) the suite is
 * skipped and says why. Under CI=true it is never skipped: a missing app fails the run, as a
 * missing test peer does (test/helpers/peers.ts). Run it with `npm run test:e2e-electron`
 * (under `xvfb-run` on a Linux machine without a display).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';
import { packagedAppHere } from './packaged-app.ts';

const app = packagedAppHere();
const missing = 'reason' in app ? app.reason : undefined;
const skip = missing && process.env.CI !== 'true' ? `packaged desktop app not available: ${missing}` : undefined;

const artifacts = new URL('../../test-results/screenshots/', import.meta.url).pathname;

/** Who the test acts as: the first-run admin (from its password file, or made in the setup page). */
interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** One launch of the app with its window. */
interface Running {
  readonly electronApp: ElectronApplication;
  readonly page: Page;
  /** Errors thrown in the window. */
  readonly pageErrors: string[];
}

describe('the packaged desktop app', { skip }, () => {
  let work: string;
  let dataDir: string;
  let configFile: string;
  let mqttUrl: string;
  let credentials: Credentials | undefined;
  let running: Running | undefined;

  before(async () => {
    if (missing) throw new Error(`CI=true and no packaged desktop app to test: ${missing}`);
    work = mkdtempSync(join(tmpdir(), 'sluice-desktop-e2e-'));
    dataDir = join(work, 'data');
    configFile = join(work, 'sluice.json');
    const [http, mqttPort, mqttWs, amqp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    // A config file (SLUICE_CONFIG, read by core/config.ts in the app's main process): a fresh
    // data directory and free ports, never the user's broker; security as shipped (anonymous off);
    // a declared durable queue to show that queued messages outlive a restart.
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir,
        http: { port: http },
        mqtt: { tcp: { port: mqttPort }, ws: { port: mqttWs } },
        amqp: { port: amqp },
        security: { anonymous: false, firstRun: 'generate-admin' },
        queues: [{ name: 'e2e-orders', subscriptions: ['e2e/orders/#'] }],
      }),
    );
  });

  after(async () => {
    await running?.electronApp.close().catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Launches the app on the test's config and waits for its window. */
  async function launch(): Promise<Running> {
    // The environment without SLUICE_* settings of this machine: only the test's config file counts.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] => !entry[0].startsWith('SLUICE_') && entry[1] !== undefined,
      ),
    );
    const electronApp = await electron.launch({
      executablePath: (app as { path: string }).path,
      args: [],
      env: { ...env, SLUICE_CONFIG: configFile },
      timeout: 90_000,
    });
    const page = await electronApp.firstWindow({ timeout: 90_000 });
    page.setDefaultTimeout(30_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return { electronApp, page, pageErrors };
  }

  /**
   * Gets past the login gate to the Overview, whichever way this build asks: none (the window as
   * the trusted host), the login page (the first-run admin's password file), or the first-run
   * setup page (the test creates the admin). Returns the admin's credentials, for MQTT too.
   */
  async function enter(page: Page): Promise<Credentials> {
    const overview = page.getByRole('heading', { name: 'Overview', level: 1 });
    const login = page.getByRole('form', { name: 'Log in' });
    const setup = page.getByRole('form', { name: 'First-run setup' });
    await overview.or(login).or(setup).first().waitFor();
    if (await setup.isVisible()) {
      credentials = { user: 'admin', password: 'e2e-admin-password' };
      await setup.getByLabel('User').fill(credentials.user);
      await setup.getByLabel(/^Password \(/).fill(credentials.password);
      await setup.getByLabel('Password again').fill(credentials.password);
      await setup.getByRole('button', { name: /Create administrator/ }).click();
    } else {
      credentials ??= firstRunAdmin();
      if (await login.isVisible()) {
        await login.getByLabel('User').fill(credentials.user);
        await login.getByLabel('Password').fill(credentials.password);
        await login.getByRole('button', { name: 'Log in' }).click();
      }
    }
    await overview.waitFor();
    return credentials;
  }

  /** The admin the broker generated on first run (core/broker.ts writes `user:password`). */
  function firstRunAdmin(): Credentials {
    const line = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim();
    const colon = line.indexOf(':');
    return { user: line.slice(0, colon), password: line.slice(colon + 1) };
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, `desktop-${name}.png`) });
  }

  /** Quits through the app (Playwright calls app.quit(), as the tray's Quit does) and returns how it ended. */
  async function quit(current: Running): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = current.electronApp.process();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null)
        resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    await current.electronApp.close();
    running = undefined;
    assert.deepEqual(current.pageErrors, [], 'no errors in the window');
    return exited;
  }

  test('the app launches on a fresh data directory and shows the Overview', async () => {
    running = await launch();
    await enter(running.page);
    await running.page.getByRole('region', { name: 'Overview' }).getByText('Message rates').waitFor();
    await screenshot(running.page, 'overview');
  });

  test('a retained message and a queued one published over MQTT show in the Topics view', async () => {
    const { page } = running!;
    const client = await mqtt.connectAsync(mqttUrl, {
      clientId: 'e2e-line1-plc',
      username: credentials!.user,
      password: credentials!.password,
      reconnectPeriod: 0,
    });
    try {
      await client.publishAsync('e2e/line1/temp', '21.5', { qos: 1, retain: true });
      await client.publishAsync('e2e/orders/1001', 'order 1001', { qos: 1 });
    } finally {
      await client.endAsync();
    }
    await page.keyboard.press('2');
    await page.getByRole('heading', { name: 'Topics', level: 1 }).waitFor();
    await page.getByLabel('Filter topics').fill('line1');
    await page.locator('[data-topic="e2e/line1/temp"]').click();
    await page.getByTestId('payload').getByText('21.5').waitFor();
    await screenshot(page, 'topics');
  });

  test('Quit drains the broker and the process exits with code 0', async () => {
    const ended = await quit(running!);
    assert.deepEqual(ended, { code: 0, signal: null });
  });

  test('after a relaunch the retained message and the queued message are still there', async () => {
    running = await launch();
    const { page } = running;
    const admin = await enter(page);
    await page.keyboard.press('3');
    // The queue's row: its name, then its depth (renderer/src/views/Queues.tsx), read from the store.
    const depth = page.locator('[data-queue="e2e-orders"]').locator('xpath=following-sibling::span[1]');
    await waitFor(async () => (await depth.textContent())?.trim() === '1', {
      timeoutMs: 30_000,
      what: 'queue e2e-orders to show depth 1 in the Queues view',
    });
    await screenshot(page, 'queues-after-restart');

    const client = await mqtt.connectAsync(mqttUrl, {
      clientId: 'e2e-line1-hmi',
      username: admin.user,
      password: admin.password,
      reconnectPeriod: 0,
    });
    try {
      const received: { topic: string; payload: string; retain: boolean }[] = [];
      client.on('message', (topic, payload, packet) =>
        received.push({ topic, payload: payload.toString(), retain: packet.retain }),
      );
      await client.subscribeAsync('e2e/line1/temp', { qos: 1 });
      await client.subscribeAsync('$queue/e2e-orders', { qos: 1 });
      await waitFor(() => received.length >= 2, {
        timeoutMs: 30_000,
        what: () => `the retained and the queued message (got ${JSON.stringify(received)})`,
      });
      assert.deepEqual(
        received.map(({ payload, retain }) => ({ payload, retain })).sort((a, b) => a.payload.localeCompare(b.payload)),
        [
          { payload: '21.5', retain: true },
          { payload: 'order 1001', retain: false },
        ],
      );
    } finally {
      await client.endAsync();
    }
    const ended = await quit(running);
    assert.deepEqual(ended, { code: 0, signal: null });
  });
});
