/**
 * The Topics view end to end: a message published over MQTT appears in the live tree with its
 * payload pretty-printed, and a message published from the view reaches the tree too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('Topics view', { skip }, () => {
  let ui: UiSession;
  before(async () => {
    ui = await openUi();
  });
  after(() => ui?.close());

  test('a message published over MQTT appears in the topic tree with its payload', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/topics`);
    await page.getByText('No messages yet').waitFor();

    const client = await mqtt.connectAsync(ui.mqttUrl, { clientId: 'e2e-plc-7' });
    await client.publishAsync('plant/line1/cell2/temperature', JSON.stringify({ celsius: 21.5, ok: true }), { qos: 1 });
    await client.publishAsync('plant/line1/cell2/frame', Buffer.from([0x01, 0x03, 0x00, 0xff]), { qos: 1 });
    await client.endAsync();

    // The first level opens by itself; filtering opens the way to the matching topic.
    await page.locator('[data-topic="plant"]').waitFor();
    await page.getByLabel('Filter topics').fill('temperature');
    await page.locator('[data-topic="plant/line1/cell2/temperature"]').click();
    const payload = page.getByTestId('payload');
    await payload.waitFor();
    assert.match(await payload.innerText(), /"celsius": 21\.5,\n\s+"ok": true/);
    await screenshot(page, 'topics');

    // Binary payloads read as hex.
    await page.getByLabel('Filter topics').fill('plant/+/+/frame');
    await page.locator('[data-topic="plant/line1/cell2/frame"]').click();
    await page.getByText('Binary (hex)').waitFor();
    assert.match(await payload.innerText(), /00000000 {2}01 03 00 ff/);
  });

  test('publishing from the topic detail reaches the tree', async () => {
    const { page } = ui;
    await page.getByLabel('Filter topics').fill('temperature');
    await page.locator('[data-topic="plant/line1/cell2/temperature"]').click();
    await page.getByLabel('Payload', { exact: true }).fill('{"celsius": 22.0}');
    await page.getByRole('radio', { name: 'JSON' }).check();
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText(/Published as message \d+/).waitFor();
    await page.getByTestId('payload').getByText('"celsius": 22').waitFor();
  });
});
