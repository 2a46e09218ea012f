/**
 * Login and security end to end in Chromium against a broker with security on (anonymous off,
 * first-run admin): log in as the admin and see the Overview; create a viewer in the Security
 * view; see an MQTT client in Connections and disconnect it; log out; log in as the viewer and be
 * refused a management action with the permission named (still logged in); a revoked session
 * goes back to the login page; a wrong password is shown as the broker's detail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('login gate, Security and Connections views', { skip }, () => {
  let ui: UiSession;
  let admin: { user: string; password: string };
  before(async () => {
    ui = await openUi({ security: { anonymous: false } });
    assert.ok(ui.broker.firstRunAdmin, 'first run created the admin');
    admin = ui.broker.firstRunAdmin;
  });
  after(() => ui?.close());

  const logIn = async (user: string, password: string) => {
    const { page } = ui;
    const form = page.getByRole('form', { name: 'Log in' });
    await form.getByLabel('User').fill(user);
    await form.getByLabel('Password').fill(password);
    await form.getByRole('button', { name: 'Log in' }).click();
  };

  test('the admin logs in and sees the Overview, named in the shell', async () => {
    const { page } = ui;
    await page.goto(ui.url);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.getByRole('form', { name: 'Log in' }).getByLabel('User').fill(admin.user);
    await screenshot(page, 'login');
    await logIn(admin.user, admin.password);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByTestId('who').locator('.who-name', { hasText: admin.user }).waitFor();
    await page.getByText('Live', { exact: true }).waitFor(); // the event stream carries the token too
  });

  test('a viewer is created in the Security view', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/security`);
    const form = page.getByRole('form', { name: 'New user' });
    await form.getByLabel('User name').fill('viewer1');
    await form.getByLabel(/^Password/).fill('viewer-password');
    // `viewer` is ticked by default.
    assert.equal(await form.getByRole('checkbox', { name: 'viewer' }).isChecked(), true);
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.getByText('User viewer1 created.').waitFor();
    await page.locator('[data-user="viewer1"]').waitFor();
    const created = await ui.broker.service.call('users.list', {});
    assert.deepEqual(created.users.find((u) => u.name === 'viewer1')?.roles, ['viewer']);
    await screenshot(page, 'security');

    await page.getByRole('tab', { name: 'Roles and rules' }).click();
    await page.locator('[data-role="viewer"]').click();
    await page.getByText('built in · read-only').waitFor();
    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.getByTestId('audit-list').getByText('users.create').first().waitFor();
  });

  test('Connections lists an MQTT client and disconnects it', async () => {
    const { page } = ui;
    const plc = await mqtt.connectAsync(ui.mqttUrl, {
      clientId: 'line1-plc',
      username: admin.user,
      password: admin.password,
      reconnectPeriod: 0,
    });
    const hmi = await mqtt.connectAsync(ui.mqttUrl, {
      clientId: 'line1-hmi',
      username: admin.user,
      password: admin.password,
      reconnectPeriod: 0,
    });
    for (let i = 0; i < 5; i++) await plc.publishAsync('plant/line1/temp', String(20 + i), { qos: 1 });
    const closed = new Promise<void>((resolve) => plc.once('close', () => resolve()));

    await page.goto(`${ui.url}#/connections`);
    const row = page.locator('[data-connection="line1-plc"]');
    await row.waitFor();
    await waitFor(async () => (await row.innerText()).includes('5'), { what: '5 messages in', timeoutMs: 5000 });
    await page.locator('[data-connection="line1-hmi"]').waitFor();
    await screenshot(page, 'connections');

    await row.getByRole('button', { name: 'Disconnect' }).click();
    await row.getByRole('button', { name: /Disconnect\?/ }).click();
    await page.getByText('Disconnected line1-plc (mqtt).').waitFor();
    await closed;
    await row.waitFor({ state: 'detached' });
    await hmi.endAsync();
  });

  test('a viewer is refused a management action with the permission named, and stays logged in', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    await logIn('viewer1', 'viewer-password');
    await page.getByTestId('who').locator('.who-name', { hasText: 'viewer1' }).waitFor();

    await page.goto(`${ui.url}#/queues`);
    await page.getByText('No queues yet').waitFor();
    await page.getByRole('button', { name: /New queue/ }).click();
    await page.getByLabel('Name').fill('orders');
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.getByText('Permission denied: this needs “manage” on “orders”').waitFor();
    await page.getByTestId('who').locator('.who-name', { hasText: 'viewer1' }).waitFor(); // not logged out

    await page.goto(`${ui.url}#/security`);
    await page.getByText('Permission denied: this needs “manage” on “$security”').first().waitFor();
  });

  test('a revoked session goes back to the login page', async () => {
    const { page } = ui;
    await ui.broker.service.call('users.delete', { name: 'viewer1' });
    await page.goto(`${ui.url}#/queues`);
    await page.getByText('Your session expired. Log in again to continue.').waitFor();
  });

  test('a wrong password shows the broker’s reason', async () => {
    const { page } = ui;
    await logIn(admin.user, 'not-the-password');
    await page.getByRole('alert').getByText('Bad user name or password').waitFor();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
  });
});
