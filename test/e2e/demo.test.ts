/**
 * The Demo view end to end on a broker with security on and anonymous access off: log in, pick a
 * scenario, start it from the UI, watch its steps run against the real broker as the generated
 * least-privilege `demo` user, and see the final check pass. Saves docs/screenshots/demo.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('demo view', { skip }, () => {
  let ui: UiSession;
  before(async () => {
    ui = await openUi({ security: { anonymous: false } });
  });
  after(() => ui?.close());

  test('a scenario started from the UI runs every step and shows its checks passed', async () => {
    const { page } = ui;
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.goto(`${ui.url}#/demo`);
    const admin = ui.broker.firstRunAdmin!;
    const login = page.getByRole('form', { name: 'Log in' });
    await login.getByLabel('User').fill(admin.user);
    await login.getByLabel('Password').fill(admin.password);
    await login.getByRole('button', { name: 'Log in' }).click();
    await page.locator('[data-scenario="erp-offline"]').click();
    await page.getByText('The ERP adapter goes offline for maintenance', { exact: false }).waitFor();
    await page.getByLabel('Speed').selectOption('1200');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('.demo-step.running').first().waitFor();
    const runAs = page.getByTestId('demo-run-as');
    await runAs.getByText('demo', { exact: true }).first().waitFor();
    assert.match(await runAs.innerText(), /publish demo\/erp-offline\/line1\/order-done/);
    assert.match(await runAs.innerText(), /consume demo\/erp-offline\/erp-orders/);
    await page.getByText('✓ PASSED').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.demo-step.done').count(), 5);
    assert.equal(await page.locator('.demo-checks tr.pass').count(), 4);
    await page.locator('.demo-checks').getByText('60 processed, in order').first().waitFor();
    const status = await ui.broker.service.call('demo.status', {});
    assert.equal(status.state, 'passed');
    assert.equal(status.runAs?.user, 'demo');
    await runAs.getByText('both removed when the run ended', { exact: false }).waitFor();
    await screenshot(page, 'demo');
  });
});
