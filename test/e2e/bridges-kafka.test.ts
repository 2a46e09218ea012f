/**
 * The Kafka bridge in Chromium: a broker whose Kafka bridge cannot reach its cluster (nothing
 * listens on port 9 of loopback) shows a KAFKA card with its kafka:// address; the New Kafka
 * bridge form writes a config entry the broker's schema accepts (SASL, key from a topic level)
 * and names the problems of a bad one. Screenshot: bridges-kafka.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('Kafka bridge in the Bridges view', { skip }, () => {
  let ui: UiSession;
  before(async () => {
    ui = await openUi({
      bridges: [
        {
          name: 'analytics',
          upstream: { protocol: 'kafka', brokers: ['127.0.0.1:9'] },
          out: { topics: [{ filter: 'plant/#' }] },
          reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        },
      ],
    });
  });
  after(() => ui?.close());

  test('the Kafka bridge card shows its protocol, address and the connection error', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/bridges`);
    const card = page.getByRole('article', { name: 'Bridge analytics' });
    await card.getByText('KAFKA', { exact: true }).waitFor();
    await card.getByText('kafka://127.0.0.1:9').waitFor();
    await card.getByTestId('bridge-state').filter({ hasText: 'Disconnected' }).waitFor();
    await card
      .getByTestId('bridge-last-error')
      .filter({ hasText: /ECONNREFUSED|connect/i })
      .waitFor();
  });

  test('the New Kafka bridge form writes a valid config entry and names the problems of a bad one', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/bridges`);
    const form = page.getByRole('group', { name: 'New Kafka bridge' });
    await form.getByText('New Kafka bridge…').click();
    await form.getByLabel('SASL').selectOption('scram-sha-512');
    await form.getByLabel('User name').fill('line1');
    await form.getByLabel('Password').fill('secret');
    await form.getByTestId('kafka-topic-example').filter({ hasText: 'plant.x2.workorders' }).waitFor();
    const json = JSON.parse((await form.getByTestId('kafka-bridge-json').textContent()) ?? '{}') as {
      upstream: { sasl: string; topics: Array<{ key: unknown }> };
      credentials: { username: string };
    };
    assert.equal(json.upstream.sasl, 'scram-sha-512');
    assert.deepEqual(json.upstream.topics[0]!.key, { from: 'level', level: 3 });
    assert.equal(json.credentials.username, 'line1');
    await screenshot(page, 'bridges-kafka');

    await form.getByLabel('Bootstrap brokers (host:port, comma separated)').fill('kafka1');
    await form.getByTestId('kafka-bridge-problems').filter({ hasText: 'must be host:port' }).waitFor();
  });
});
