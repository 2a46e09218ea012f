/**
 * The desktop release scenario (docs/release.md), written once and run against two targets:
 * the packaged Electron app (desktop-app.test.ts, on the networked CI) and the same broker and
 * UI headless, `sluice serve` in Chromium (test/e2e/desktop-scenario.test.ts, here), so its
 * steps and selectors are proven on this machine before the first networked build.
 *
 * On a fresh data directory with security as shipped (anonymous off, a first-run admin): the app
 * shows the Overview; a retained and a queued message published over MQTT (MQTT.js) show in the
 * Topics view; Quit drains the broker and the process exits with code 0; after a relaunch the
 * Queues view shows the queued message and MQTT delivers both messages again.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { freePort } from '../helpers/process.ts';
import { waitFor } from '../helpers/wait.ts';

/** How a process ended. */
export interface Ended {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** One running app: its window (or browser page) and how to quit it as a user does. */
export interface Launched {
  readonly page: Page;
  /** Errors thrown in the page. */
  readonly pageErrors: readonly string[];
  /** Quits the app (the app's own Quit: it drains the broker) and resolves with how its process ended. */
  quit(): Promise<Ended>;
}

/** Starts the app under test on the config file given (SLUICE_CONFIG) and opens its UI. */
export type LaunchApp = (configFile: string, ports: ScenarioPorts) => Promise<Launched>;

/** The listeners' ports the scenario's config file sets (free ones, picked by the scenario). */
export interface ScenarioPorts {
  readonly http: number;
  readonly mqtt: number;
  readonly mqttWs: number;
  readonly amqp: number;
}

/** Who the scenario acts as: the first-run admin (from its password file, or made in the setup page). */
interface Credentials {
  readonly user: string;
  readonly password: string;
}

const artifacts = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

/** The environment without this machine's SLUICE_* settings: only the scenario's config file counts. */
export function cleanEnvironment(configFile: string): Record<string, string> {
  const env = Object.entries(process.env).filter(
    (entry): entry is [string, string] => !entry[0].startsWith('SLUICE_') && entry[1] !== undefined,
  );
  return { ...Object.fromEntries(env), SLUICE_CONFIG: configFile };
}

/** Registers the scenario's hooks and tests in the current `describe`; `label` names the target in screenshots. */
export function desktopScenario(label: string, launch: LaunchApp, precondition?: () => void): void {
  let work: string;
  let dataDir: string;
  let configFile: string;
  let ports: ScenarioPorts;
  let credentials: Credentials | undefined;
  let running: Launched | undefined;

  before(async () => {
    precondition?.();
    work = mkdtempSync(join(tmpdir(), `sluice-${label}-e2e-`));
    dataDir = join(work, 'data');
    configFile = join(work, 'sluice.json');
    ports = { http: await freePort(), mqtt: await freePort(), mqttWs: await freePort(), amqp: await freePort() };
    // The config file (SLUICE_CONFIG, read by core/config.ts wherever the core runs): a fresh data
    // directory and free ports, never the user's broker; security as shipped (anonymous off, a
    // generated first-run admin); a declared durable queue to show queued messages outlive a restart.
    writeFileSync(
      configFile,
      JSON.stringify({
        dataDir,
        http: { port: ports.http },
        mqtt: { tcp: { port: ports.mqtt }, ws: { port: ports.mqttWs } },
        amqp: { port: ports.amqp },
        security: { anonymous: false, firstRun: 'generate-admin' },
        queues: [{ name: 'e2e-orders', subscriptions: ['e2e/orders/#'] }],
      }),
    );
  });

  after(async () => {
    await running?.quit().catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /**
   * Gets past the login gate to the Overview, whichever way this build asks: not at all (the
   * desktop window as the trusted host), the login page (the first-run admin's password file),
   * or the first-run setup page (the scenario creates the admin). Returns the admin, for MQTT too.
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
    await page.screenshot({ path: join(artifacts, `${label}-${name}.png`) });
  }

  async function quit(): Promise<Ended> {
    const current = running!;
    running = undefined;
    const ended = await current.quit();
    assert.deepEqual(current.pageErrors, [], 'no errors in the page');
    return ended;
  }

  const mqttClient = (clientId: string, admin: Credentials) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, {
      clientId,
      username: admin.user,
      password: admin.password,
      reconnectPeriod: 0,
    });

  test('the app starts on a fresh data directory and shows the Overview', async () => {
    running = await launch(configFile, ports);
    await enter(running.page);
    await running.page.getByRole('region', { name: 'Overview' }).getByText('Message rates').waitFor();
    await screenshot(running.page, 'overview');
  });

  test('a retained message and a queued one published over MQTT show in the Topics view', async () => {
    const { page } = running!;
    const client = await mqttClient('e2e-line1-plc', credentials!);
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
    assert.deepEqual(await quit(), { code: 0, signal: null });
  });

  test('after a relaunch the queued message and the retained message are still there', async () => {
    running = await launch(configFile, ports);
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

    const client = await mqttClient('e2e-line1-hmi', admin);
    try {
      const received: { payload: string; retain: boolean }[] = [];
      client.on('message', (_topic, payload, packet) =>
        received.push({ payload: payload.toString(), retain: packet.retain }),
      );
      await client.subscribeAsync('e2e/line1/temp', { qos: 1 });
      await client.subscribeAsync('$queue/e2e-orders', { qos: 1 });
      await waitFor(() => received.length >= 2, {
        timeoutMs: 30_000,
        what: () => `the retained and the queued message (got ${JSON.stringify(received)})`,
      });
      assert.deepEqual(
        received.sort((a, b) => a.payload.localeCompare(b.payload)),
        [
          { payload: '21.5', retain: true },
          { payload: 'order 1001', retain: false },
        ],
      );
    } finally {
      await client.endAsync();
    }
    assert.deepEqual(await quit(), { code: 0, signal: null });
  });
}
