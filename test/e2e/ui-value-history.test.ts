/**
 * Value history end to end: two simulated sensors publish JSON over MQTT at 1 kHz each; the
 * Topics view charts a chosen field of each, pinned side by side, with min/max/last equal to what
 * was published, and the page stays responsive meanwhile (no main-thread task over 100 ms, seen
 * by the Long Tasks API in the page). The screenshot goes to docs/screenshots/value-history.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { waitFor } from '../helpers/wait.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

const sensor1 = 'plant/line1/sensor1/telemetry';
const sensor2 = 'plant/line1/sensor2/telemetry';
/** Messages per sensor: 1 kHz for three seconds. */
const samples = 3000;

/** Sensor 1's temperature at sample i: a slow wave, one spike up and one down (min/max must catch both). */
function temperature(i: number): number {
  if (i === 1500) return 85.5;
  if (i === 2200) return -12.75;
  return Math.round((21 + 4 * Math.sin(i / 40)) * 100) / 100;
}

/** Sensor 2's pressure at sample i. */
function pressure(i: number): number {
  return Math.round((1 + 0.02 * Math.cos(i / 100)) * 1000) / 1000;
}

/** How the chart writes a value (renderer/src/logic/value-history.ts formatValue). */
const shown = (value: number) => String(Number(value.toPrecision(7)));

/**
 * Runs in the page before its scripts: the Long Tasks API reports every main-thread task of
 * 50 ms or more into `window.longTasks` (a string: the Node project has no DOM types).
 */
const observeLongTasks = `
  window.longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
  // A coarser second view: the longest gap between 10 ms timer ticks (a task delays the next tick).
  window.longestTickGap = 0;
  let lastTick = performance.now();
  setInterval(() => {
    const now = performance.now();
    window.longestTickGap = Math.max(window.longestTickGap, now - lastTick - 10);
    lastTick = now;
  }, 10);
`;

/** One long task the page saw. */
interface LongTask {
  readonly start: number;
  readonly duration: number;
}

describe('Topics view value history', { skip }, () => {
  let ui: UiSession;
  let client: mqtt.MqttClient | undefined;
  before(async () => {
    ui = await openUi();
    await ui.page.emulateMedia({ colorScheme: 'light' });
    await ui.page.addInitScript({ content: observeLongTasks });
  });
  after(async () => {
    await client?.endAsync(true); // also when the test failed midway, so the broker can close
    await ui?.close();
  });

  test('a 1 kHz sensor is charted with the min, max and last it published, pinned beside a second, and the page stays responsive', async (t) => {
    const { page } = ui;
    await page.goto(`${ui.url}#/topics`);
    await page.getByText('No messages yet').waitFor();

    client = await mqtt.connectAsync(ui.mqttUrl, { clientId: 'e2e-sensors' });
    // One message each so the topics and their fields are known before charting.
    await client.publishAsync(sensor1, JSON.stringify({ id: 's1', temperature: 20 }), { qos: 1 });
    await client.publishAsync(sensor2, JSON.stringify({ id: 's2', values: { flow: 3.2, pressure: 1.013 } }), {
      qos: 1,
    });

    // Sensor 2: choose the nested field and pin it, with the keyboard.
    await page.getByLabel('Filter topics').fill('telemetry');
    await page.locator(`[data-topic="${sensor2}"]`).click();
    const panel = page.getByTestId('value-history');
    const field = panel.getByLabel('Field to chart');
    await field.waitFor();
    assert.deepEqual(await field.locator('option').allInnerTexts(), ['values.flow', 'values.pressure']);
    await field.focus();
    await page.keyboard.press('ArrowDown'); // values.flow → values.pressure
    assert.equal(await field.inputValue(), 'values.pressure');
    await page.getByRole('button', { name: `Pin chart of ${sensor2} · values.pressure` }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: `Unpin ${sensor2} · values.pressure` }).waitFor();

    // Sensor 1: its first numeric field is the default; selecting it opens one stream for both topics.
    const bothWatched = page.waitForResponse((response) => {
      const url = decodeURIComponent(response.url());
      return url.includes('/api/v1/events') && url.includes(`topics=${sensor1}`) && url.includes(`topics=${sensor2}`);
    });
    await page.locator(`[data-topic="${sensor1}"]`).click();
    await bothWatched;
    assert.equal(await field.inputValue(), 'temperature');
    await panel.getByLabel('Chart window').selectOption(String(30_000));
    await page.getByRole('button', { name: `Pin chart of ${sensor1} · temperature` }).press('Enter');
    const pinned = page.getByTestId('pinned-charts');
    await pinned.getByLabel('Pinned charts window').selectOption(String(30_000));
    const chart1 = pinned.locator(`[data-series="${sensor1} · temperature"]`);
    const chart2 = pinned.locator(`[data-series="${sensor2} · values.pressure"]`);
    await chart1.getByText('Waiting for values…').waitFor();
    await chart2.getByText('Waiting for values…').waitFor();

    // The 1 kHz run, watched by the Long Tasks API.
    assert.ok(await page.evaluate<boolean>("PerformanceObserver.supportedEntryTypes.includes('longtask')"));
    const startedAt = await page.evaluate<number>('(window.longestTickGap = 0, performance.now())');
    const begin = performance.now();
    for (let i = 0; i < samples;) {
      const due = Math.min(samples, Math.floor(performance.now() - begin) + 1);
      for (; i < due; i++) {
        client.publish(sensor1, JSON.stringify({ id: 's1', temperature: temperature(i), seq: i }));
        client.publish(sensor2, JSON.stringify({ id: 's2', values: { flow: 3.2, pressure: pressure(i) } }));
      }
      await new Promise((resolve) => setTimeout(resolve, 2)); // pacing: about one message per sensor per ms
    }
    const publishedInMs = performance.now() - begin;
    await client.endAsync();
    client = undefined;

    const countOf = async (chart: typeof chart1) =>
      Number((await chart.getByTestId('value-count').innerText()).replace(/,/g, ''));
    await waitFor(
      async () => (await chart1.getByTestId('value-count').count()) > 0 && (await countOf(chart1)) === samples,
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${samples} temperature samples in the chart`,
      },
    );
    await waitFor(async () => (await countOf(chart2)) === samples, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: `${samples} pressure samples in the chart`,
    });
    const endedAt = await page.evaluate<number>('performance.now()');
    const longestTickGap = await page.evaluate<number>('window.longestTickGap');

    const temperatures = Array.from({ length: samples }, (_, i) => temperature(i));
    const pressures = Array.from({ length: samples }, (_, i) => pressure(i));
    for (const chart of [chart1, page.getByTestId('value-history')]) {
      assert.equal(await chart.getByTestId('value-min').innerText(), shown(Math.min(...temperatures)));
      assert.equal(await chart.getByTestId('value-max').innerText(), shown(Math.max(...temperatures)));
      assert.equal(await chart.getByTestId('value-last').innerText(), shown(temperatures.at(-1)!));
    }
    assert.equal(await chart2.getByTestId('value-min').innerText(), shown(Math.min(...pressures)));
    assert.equal(await chart2.getByTestId('value-max').innerText(), shown(Math.max(...pressures)));
    assert.equal(await chart2.getByTestId('value-last').innerText(), shown(pressures.at(-1)!));
    // Points are drawn (min/max columns, not one per message).
    for (const chart of [chart1, chart2]) {
      const points = Number(await chart.locator('svg').getAttribute('data-points'));
      assert.ok(points >= 5 && points <= 240, `drawn points: ${points}`);
      assert.notEqual(await chart.locator('polyline').getAttribute('points'), '');
    }

    const tasks = (await page.evaluate<LongTask[]>('window.longTasks')).filter(
      (task) => task.start + task.duration >= startedAt && task.start <= endedAt,
    );
    const longest = Math.max(0, ...tasks.map((task) => task.duration));
    t.diagnostic(
      `value history at 1 kHz × 2 topics: ${samples} each published in ${Math.round(publishedInMs)} ms; ` +
        `long tasks (≥ 50 ms) during the run: ${tasks.length}, longest ${Math.round(longest)} ms; ` +
        `longest extra delay of a 10 ms timer: ${Math.round(longestTickGap)} ms`,
    );
    assert.ok(longest <= 100, `a main-thread task took ${Math.round(longest)} ms`);

    assert.equal(await page.evaluate<string>('document.documentElement.dataset.theme'), 'light');
    await page.getByTestId('value-history').evaluate((element) => element.scrollIntoView({ block: 'end' }));
    await screenshot(page, 'value-history');

    // Unpinning with the keyboard leaves the other chart.
    await page.getByRole('button', { name: `Unpin ${sensor2} · values.pressure` }).press('Enter');
    await chart2.waitFor({ state: 'detached' });
    await chart1.waitFor();
    // Pins outlive a trip to another view (this tab's sessionStorage); their samples start again.
    await page.keyboard.press('1');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('2');
    await chart1.getByText('Waiting for values…').waitFor();
    assert.equal(await pinned.getByRole('button', { name: /^Unpin / }).count(), 1);
  });
});
