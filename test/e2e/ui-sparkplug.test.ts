/**
 * The Sparkplug view end to end: simulated edge nodes (MQTT.js, the spec's protobuf schema) are
 * shown as a group → node → device outline with online/offline state and decoded metrics; a
 * node whose birth was missed is flagged and the view's "Request rebirth" gets it born again;
 * an undecodable payload is shown, not a crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EdgeNode } from '../helpers/sparkplug-edge.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('Sparkplug view', { skip }, () => {
  let ui: UiSession;
  const edges: EdgeNode[] = [];
  before(async () => {
    ui = await openUi();
  });
  after(async () => {
    for (const edge of edges) await edge.close().catch(() => undefined);
    await ui?.close();
  });

  test('the outline shows groups, nodes and devices online or offline, with decoded metrics', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/sparkplug`);
    await page.getByText('No Sparkplug B traffic yet').waitFor();

    const line = await EdgeNode.connect(ui.mqttUrl, {
      group: 'plant',
      node: 'line1',
      bdSeq: 2,
      metrics: [
        { name: 'Temperature', datatype: 'Double', value: 21.5 },
        { name: 'Mode', datatype: 'String', value: 'auto' },
      ],
      devices: [
        { id: 'pump', metrics: [{ name: 'Running', datatype: 'Boolean', value: true }] },
        { id: 'fan', metrics: [{ name: 'Speed', datatype: 'Int32', value: -40 }] },
      ],
    });
    edges.push(line);
    await line.birth();
    await line.nodeData({ Temperature: 23.25 });
    await line.deviceDeath('fan');
    const packer = await EdgeNode.connect(ui.mqttUrl, {
      group: 'plant',
      node: 'packer',
      metrics: [{ name: 'Count', datatype: 'UInt32', value: 10 }],
    });
    await packer.birth();
    packer.kill(); // its will, the NDEATH, takes it offline

    const row = (path: string) => page.locator(`[data-sparkplug="${path}"]`);
    await row('plant/line1/pump').getByText('online').waitFor();
    await row('plant/line1/fan').getByText('offline').waitFor();
    await row('plant/packer').getByText('offline').waitFor();
    await row('plant/line1').click();
    const detail = page.getByTestId('sparkplug-detail');
    await detail.locator('[data-metric="Temperature"]').getByText('23.25', { exact: true }).waitFor();
    assert.match(await detail.locator('[data-metric="Temperature"]').innerText(), /Temperature\s+1\s+Double\s+23\.25/);
    assert.match(await detail.locator('[data-metric="Mode"]').innerText(), /auto/);

    // Keyboard: ↓ from the node goes to its first device (fan, sorted), whose metrics show.
    await row('plant/line1').focus();
    await page.keyboard.press('ArrowDown');
    await detail.locator('[data-metric="Speed"]').getByText('-40', { exact: true }).waitFor();
    await page.keyboard.press('ArrowDown');
    await detail.locator('[data-metric="Running"]').getByText('true', { exact: true }).waitFor();
    await row('plant/line1').click();
    await detail.locator('[data-metric="Temperature"]').waitFor();
    await screenshot(page, 'sparkplug');
    await page.keyboard.press('t');
    await page.locator('html[data-theme="dark"]').waitFor();
    await screenshot(page, 'sparkplug-dark');
    await page.keyboard.press('t');
  });

  test('a node whose birth was missed is flagged, and Request rebirth gets it born again', async () => {
    const { page } = ui;
    const late = await EdgeNode.connect(ui.mqttUrl, {
      group: 'plant',
      node: 'late',
      metrics: [{ name: 'Pressure', datatype: 'Double', value: 1 }],
    });
    edges.push(late);
    late.skipSeq(3); // as if its NBIRTH went out before the broker was listening
    await late.nodeData({ Pressure: 1.5 });

    const row = page.locator('[data-sparkplug="plant/late"]');
    await row.getByText('unknown alias').waitFor();
    await row.click();
    const detail = page.getByTestId('sparkplug-detail');
    await detail
      .getByTestId('sp-rebirth-needed')
      .getByText(/alias 1 that no birth named/)
      .waitFor();
    await detail.getByText('unknown alias 1').waitFor();
    await screenshot(page, 'sparkplug-rebirth');

    await detail.getByRole('button', { name: 'Request rebirth' }).click();
    await detail.getByText('Rebirth requested: NCMD sent to spBv1.0/plant/NCMD/late.').waitFor();
    const command = await late.waitForCommand();
    assert.ok(command.metrics.some((m) => m.name === 'Node Control/Rebirth' && 'booleanValue' in m && m.booleanValue));

    // The simulator answered with an NBIRTH: online, the flag gone, the alias named.
    await row.getByText('online').waitFor();
    await detail.getByTestId('sp-rebirth-needed').waitFor({ state: 'detached' });
    await late.nodeData({ Pressure: 2.75 });
    await detail.locator('[data-metric="Pressure"]').getByText('2.75', { exact: true }).waitFor();
    assert.equal(await row.getByText('unknown alias').count(), 0);
  });

  test('an undecodable payload on spBv1.0 is shown and counted, and the view keeps working', async () => {
    const { page } = ui;
    const edge = edges[0]!;
    await edge.publishRaw(edge.topic('NDATA'), Buffer.from([0x12, 0x10, 0x0a, 0x01]));
    await page.getByTestId('sp-undecodable-notice').getByText('spBv1.0/plant/NDATA/line1').waitFor();
    assert.equal(await page.getByTestId('sp-undecodable').innerText(), '1');
    await page.locator('[data-sparkplug="plant/line1"]').getByText('1 undecodable').waitFor();
    await edge.nodeData({ Temperature: 30 });
    await page.locator('[data-sparkplug="plant/line1"]').click();
    await page
      .getByTestId('sparkplug-detail')
      .locator('[data-metric="Temperature"]')
      .getByText('30', { exact: true })
      .waitFor();
  });

  test('a Sparkplug topic in the Topics view links to its device in the Sparkplug view', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/topics`);
    await page.getByLabel('Filter topics').fill('spBv1.0/plant/DBIRTH/line1/pump');
    await page.locator('[data-topic="spBv1.0/plant/DBIRTH/line1/pump"]').click();
    await page.getByRole('link', { name: /decoded metrics/ }).click();
    const detail = page.getByTestId('sparkplug-detail');
    await detail.getByRole('heading', { name: /plant\/line1\/pump/ }).waitFor();
    await detail.locator('[data-metric="Running"]').getByText('true', { exact: true }).waitFor();
    assert.equal(await page.locator('[data-sparkplug="plant/line1/pump"]').getAttribute('aria-selected'), 'true');
  });
});
