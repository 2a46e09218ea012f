/**
 * Bridge status in Chromium against a broker whose one bridge cannot reach its upstream (nothing
 * listens on port 9 of loopback): a message published on the bridged topic waits in the backlog;
 * the Bridges view shows the bridge disconnected with backlog 1, the last error and no success
 * yet; after the 30 s alarm delay the Overview lists its `disconnected` alarm; the card links to
 * the `bridge/plant` queue in the Queues view. Screenshot: bridges.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('Bridges view and bridge alarms', { skip }, () => {
  let ui: UiSession;
  before(async () => {
    ui = await openUi({
      bridges: [
        {
          name: 'plant',
          upstream: { protocol: 'mqtt', url: 'mqtt://127.0.0.1:9' },
          direction: 'out',
          out: { topics: [{ filter: 'line1/#' }] },
          reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        },
      ],
    });
  });
  after(() => ui?.close());

  test('a message for an unreachable upstream: the bridge shows disconnected with backlog 1', async () => {
    const { page } = ui;
    const plc = await mqtt.connectAsync(ui.mqttUrl, { clientId: 'e2e-line1' });
    await plc.publishAsync('line1/x', JSON.stringify({ temp: 21.5 }), { qos: 1 });
    await plc.endAsync();
    await waitFor(async () => (await ui.broker.service.call('bridges.status', {})).bridges[0]?.backlog === 1, {
      what: 'the backlog to hold the message',
    });

    await page.goto(`${ui.url}#/bridges`);
    await page.getByRole('heading', { name: 'Bridges', level: 1 }).waitFor();
    const card = page.getByRole('article', { name: 'Bridge plant' });
    await card.getByTestId('bridge-state').filter({ hasText: 'Disconnected' }).waitFor();
    await card
      .getByTestId('bridge-backlog')
      .filter({ hasText: /^1of 1,000,000$/ })
      .waitFor();
    await card.getByText('mqtt://127.0.0.1:9').waitFor();
    await card.getByText('Out → upstream').waitFor();
    await card.getByTestId('bridge-last-success').filter({ hasText: 'no success yet' }).waitFor();
    await card
      .getByTestId('bridge-last-error')
      .filter({ hasText: /ECONNREFUSED|connect/i })
      .waitFor();
    assert.equal(await card.getByRole('meter', { name: 'plant backlog fill' }).getAttribute('aria-valuenow'), '0');
  });

  test('the key 0 opens the Bridges view from the sidebar scheme', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/overview`);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.keyboard.press('0');
    await page.getByRole('heading', { name: 'Bridges', level: 1 }).waitFor();
  });

  test('after the alarm delay the Overview lists the bridge’s disconnected alarm', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/overview`);
    const alarm = page.getByRole('listitem').filter({ hasText: 'Bridge plant is disconnected' });
    await alarm.waitFor({ timeout: 45_000 }); // the broker raises it after 30 s without a connection
    const text = (await alarm.textContent()) ?? '';
    assert.match(text, /mqtt:\/\/127\.0\.0\.1:9/);
    assert.match(text, /backlog 1 \/ 1,000,000 messages/);
    assert.match(text, /no success yet \(started \d+ s ago\)/);
    assert.match(text, /last error: /);
    assert.match((await alarm.getAttribute('class')) ?? '', /\bwarn\b/);
    assert.equal(await alarm.getAttribute('href'), '#/bridges');
    await page.mouse.move(0, 0);
    await page.screenshot({
      path: new URL('../../test-results/screenshots/bridges-overview.png', import.meta.url).pathname,
    }); // artifact only
  });

  test('the Bridges card shows the alarm and links to its backlog queue', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/bridges`);
    const card = page.getByRole('article', { name: 'Bridge plant' });
    await card.getByRole('listitem').filter({ hasText: 'Bridge plant is disconnected' }).waitFor();
    await page.mouse.move(0, 0);
    await screenshot(page, 'bridges');
    await card.getByRole('link', { name: /Queue bridge\/plant/ }).click();
    await page.getByRole('heading', { name: 'Queues', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'bridge/plant' }).first().waitFor();
  });
});
