/**
 * The message journey in Chromium (issue 24, docs/journey.md): a message published over MQTT,
 * rejected over HTTP into the DMQ; from the Dead messages view the keyboard reaches the link to
 * its journey, which lists the steps in order; after a redelivery and an ack the journey ends
 * acked. Saves docs/screenshots/journey.png (npm run screenshots).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { createHttpClient, type HttpClient } from '../../core/api/client.ts';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('message journey view', { skip }, () => {
  let ui: UiSession;
  let client: HttpClient;
  before(async () => {
    ui = await openUi();
    client = createHttpClient(ui.broker.httpUrl);
    await client.call('queues.create', { name: 'orders', subscriptions: ['plant/+/orders'] });
    const plc = await mqtt.connectAsync(ui.mqttUrl, { clientId: 'plc-7' });
    await plc.publishAsync('plant/line1/orders', JSON.stringify({ order: 17, sku: 'X-99' }), { qos: 1 });
    await plc.endAsync();
    const [delivery] = (await client.call('queues.receive', { name: 'orders', max: 1 })).messages;
    await client.call('queues.reject', { name: 'orders', deliveryId: delivery!.deliveryId, error: 'unknown SKU X-99' });
  });
  after(() => ui?.close());

  const steps = async () =>
    ui.page
      .getByTestId('journey-steps')
      .locator('li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-step')));

  test('from a dead message the keyboard follows the link to its journey, which shows the steps in order', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/dead`);
    const link = page.getByTestId('dead-detail').getByRole('link', { name: 'Show its journey' });
    await link.waitFor();
    // Keyboard reachable: Tab from the top of the page until the link has focus, then Enter.
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 120 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await link.evaluate(
        (element) =>
          element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
      );
    }
    assert.ok(reached, 'the journey link is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/journey\?id=\d+$/);
    await page.getByRole('heading', { name: 'plant/line1/orders' }).waitFor();
    await waitFor(async () => (await steps()).length === 5, { what: 'five steps', timeoutMs: 10_000 });
    assert.deepEqual(await steps(), ['published', 'routed', 'delivered', 'rejected', 'dead-lettered']);
    const list = page.getByTestId('journey-steps');
    await list.getByText('over mqtt').waitFor();
    await list.getByText('consumer http:receive (http)').first().waitFor();
    await list.getByText('“unknown SKU X-99”').waitFor();
    await list.getByRole('link', { name: 'In the DMQ now' }).waitFor();
  });

  test('after a redelivery from the DMQ and an ack the journey ends acked', async () => {
    const { page } = ui;
    await client.call('dmq.redeliver', { all: true });
    const [again] = (await client.call('queues.receive', { name: 'orders', max: 1 })).messages;
    await client.call('queues.ack', { name: 'orders', deliveryId: again!.deliveryId });
    await page.reload();
    await waitFor(async () => (await steps()).length === 8, { what: 'eight steps', timeoutMs: 10_000 });
    assert.deepEqual(await steps(), [
      'published',
      'routed',
      'delivered',
      'rejected',
      'dead-lettered',
      'redelivered',
      'delivered',
      'acked',
    ]);
    await page.getByText('In no queue: its journey is over').waitFor();
    await screenshot(page, 'journey');
  });
});
