/**
 * HTTP push consumers in Chromium: the Queues view lists a queue's push consumer with its state
 * and last answer, and a push consumer added through the form delivers with its token, which the
 * page never shows again. Screenshot: queues-push.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestEndpoint } from '../integration/push-helpers.ts';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('push consumers in the Queues view', { skip }, () => {
  let ui: UiSession;
  const endpoint = new TestEndpoint();
  before(async () => {
    await endpoint.up();
    ui = await openUi({
      queues: [{ name: 'erp', subscriptions: ['plant/#'] }],
      push: [{ name: 'sap', queue: 'erp', url: endpoint.url, retry: { initialDelayMs: 20, maxDelayMs: 100 } }],
    });
  });
  after(async () => {
    await ui?.close();
    await endpoint.down();
  });

  test('the selected queue shows its push consumer delivering, with the last status code', async () => {
    await ui.broker.engine.publish({ topic: 'plant/orders', payload: 'PO-1' });
    await waitFor(() => endpoint.acked().length === 1, { what: 'delivered' });
    const { page } = ui;
    await page.goto(`${ui.url}#/queues?queue=erp`);
    const panel = page.getByLabel('Push consumers of erp');
    const row = panel.locator('[data-push="sap"]');
    await row.getByText('delivering').waitFor();
    await row.getByText(/last 200 .* delivered 1/).waitFor();
    await screenshot(page, 'queues-push');
  });

  test('a push consumer added through the form delivers with its token, and the form never shows the token again', async () => {
    const { page } = ui;
    const panel = page.getByLabel('Push consumers of erp');
    await panel.getByRole('button', { name: 'Add push consumer' }).click();
    const form = page.getByRole('form', { name: 'New push consumer' });
    await form.getByLabel('Name', { exact: true }).fill('mes');
    await form.getByLabel('Endpoint URL').fill(endpoint.url);
    await form.getByLabel('Authentication').selectOption('bearer');
    await form.getByLabel(/Token/).fill('ui-token-123');
    await form.getByRole('button', { name: 'Create push consumer' }).click();
    await panel.locator('[data-push="mes"]').waitFor();
    const views = (await ui.broker.service.call('push.list', { queue: 'erp' })).pushConsumers;
    assert.deepEqual(views.map((v) => v.config.name).sort(), ['mes', 'sap']);
    for (let i = 0; i < 6; i++) await ui.broker.engine.publish({ topic: 'plant/orders', payload: `PO-x${i}` });
    await waitFor(() => endpoint.seen.some((r) => r.headers.authorization === 'Bearer ui-token-123'), {
      what: 'a delivery with the token',
    });
    await panel.getByRole('button', { name: 'mes' }).click();
    const edit = page.getByRole('form', { name: 'Push consumer mes' });
    assert.equal(await edit.getByLabel(/Token/).inputValue(), '********');
    assert.ok(!(await page.content()).includes('ui-token-123'), 'the token is nowhere in the page');
  });
});
