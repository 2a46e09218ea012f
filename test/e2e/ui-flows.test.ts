/**
 * The operator's flows end to end in Chromium against a real broker: create a queue from the UI,
 * drive a message to the DMQ with a consumer reject, see why it died, redeliver it from the UI
 * and see it consumed; replay from a timestamp into a new queue and watch it finish. Each view
 * is saved as a screenshot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { createHttpClient, type HttpClient } from '../../core/api/client.ts';
import { toLocalInput } from '../../renderer/src/logic/format.ts';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('queue, dead message and replay flows', { skip }, () => {
  let ui: UiSession;
  let consumer: HttpClient;
  let beforeOrders = 0;
  before(async () => {
    ui = await openUi();
    consumer = createHttpClient(ui.broker.httpUrl);
  });
  after(() => ui?.close());

  test('a queue created from the UI collects messages published over MQTT', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/queues`);
    await page.getByText('No queues yet').waitFor();
    await page.keyboard.press('n');
    await page.getByLabel('Name').fill('orders');
    await page.getByLabel(/Subscriptions/).fill('plant/+/orders');
    await page.getByLabel('Max redelivery').fill('3');
    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.locator('[data-queue="orders"]').waitFor();
    assert.deepEqual((await consumer.call('queues.get', { name: 'orders' })).config.subscriptions, ['plant/+/orders']);

    beforeOrders = Date.now() - 1000;
    const plc = await mqtt.connectAsync(ui.mqttUrl, { clientId: 'e2e-line1' });
    await plc.publishAsync('plant/line1/orders', JSON.stringify({ order: 17, sku: 'X-99', qty: 4 }), { qos: 1 });
    await plc.endAsync();
    // Depth is pushed: the row shows 1 without a reload.
    const row = page.getByTestId('queue-list').locator('.vrow', { has: page.locator('[data-queue="orders"]') });
    await waitFor(async () => (await row.innerText()).split('\n').includes('1'), {
      what: 'depth 1',
      timeoutMs: 10_000,
    });
    await page.locator('[data-queue="orders"]').click();
    await page.getByText('"sku": "X-99"').waitFor();
    await screenshot(page, 'queues');
  });

  test('a rejected message is shown with its reason, redelivered from the UI, then consumed', async () => {
    const { page } = ui;
    const [delivery] = (await consumer.call('queues.receive', { name: 'orders', max: 1 })).messages;
    assert.ok(delivery);
    await consumer.call('queues.reject', {
      name: 'orders',
      deliveryId: delivery.deliveryId,
      error: 'order 17: unknown SKU X-99',
    });

    await page.goto(`${ui.url}#/dead`);
    await page.locator('[data-dead-topic="plant/line1/orders"]').waitFor();
    const detail = page.getByTestId('dead-detail');
    await detail.getByText('Rejected').waitFor();
    await detail.getByText('order 17: unknown SKU X-99').waitFor();
    await detail.getByText('"order": 17').waitFor();
    await screenshot(page, 'dead-messages');

    await page.getByRole('button', { name: /Redeliver this one/ }).click();
    await page.getByText('Redelivered 1 to their original queue.').waitFor();
    await page.getByText('No dead messages match.').waitFor();

    const [again] = (await consumer.call('queues.receive', { name: 'orders', max: 1 })).messages;
    assert.equal(again?.message.topic, 'plant/line1/orders');
    await consumer.call('queues.ack', { name: 'orders', deliveryId: again!.deliveryId });
    await page.goto(`${ui.url}#/queues`);
    await page.locator('[data-queue="orders"]').click();
    await page.getByText('The queue is empty.').waitFor();
    assert.equal((await consumer.call('queues.get', { name: 'orders' })).counters.acked, 1);
  });

  test('a replay from a timestamp into a new queue runs to completion with its count', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/replay`);
    await page.getByPlaceholder('analytics').fill('audit');
    await page.getByText('it is created for the replay').waitFor();
    await page.getByLabel('Topic filter (optional)').fill('plant/#');
    await page.getByRole('radio', { name: 'A time' }).first().check();
    await page.getByLabel('Start time').fill(toLocalInput(beforeOrders));
    await page.getByRole('button', { name: 'Start replay' }).click();
    await page.getByText(/Replay \d+ started/).waitFor();
    const replay = page.locator('[data-replay]').first();
    await replay.getByTestId('replay-state').getByText('completed').waitFor();
    assert.match(await replay.getByTestId('replay-count').innerText(), /^1 replayed/);
    assert.equal((await consumer.call('queues.get', { name: 'audit' })).depth, 1);
    await screenshot(page, 'replay');
  });

  test('the other views render with live data', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/publish`);
    await page.getByLabel('Topic').fill('plant/line2/orders');
    await page.getByRole('radio', { name: 'JSON' }).check();
    await page.getByLabel('Payload', { exact: true }).fill('{"order": 18, "sku": "A-1", "qty": 2}');
    await page.getByLabel('Headers').fill('shift: night');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText(/enqueued to orders/).waitFor();
    await screenshot(page, 'publish');

    await page.goto(`${ui.url}#/overview`);
    await page.getByText('orders', { exact: true }).waitFor();
    await screenshot(page, 'overview');

    // Keyboard: digits switch views; T switches theme.
    await page.keyboard.press('2');
    await page.getByRole('heading', { name: 'Topics' }).waitFor();
    await page.keyboard.press('t');
    await page.locator('[data-topic="plant"]').waitFor();
    await screenshot(page, 'topics-dark');
  });
});
