/**
 * The Settings view in Chromium: Export downloads the configuration document; importing a changed
 * copy shows its diff and changes nothing until applied; Back up now shows progress and offers the
 * finished backup for download. Screenshot: settings.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ConfigDocument } from '../../core/schema/config-document.ts';
import { tempDir } from '../helpers/engine.ts';
import { browserSkipReason, openUi, screenshot, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('Settings view: export, import with its diff, backup', { skip }, () => {
  let ui: UiSession;
  const files = tempDir('sluice-settings-');
  before(async () => {
    ui = await openUi({ queues: [{ name: 'orders', subscriptions: ['plant/+/orders'], maxRedelivery: 3 }] });
  });
  after(async () => {
    await ui?.close();
    files.cleanup();
  });

  test('Export downloads the document; an edited copy shows its diff, and Apply applies it', async () => {
    const { page } = ui;
    await page.goto(`${ui.url}#/settings`);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const exported = join(files.dir, 'exported.json');
    await (await downloading).saveAs(exported);
    const document = JSON.parse(readFileSync(exported, 'utf8')) as ConfigDocument;
    assert.equal(document.queues.find((q) => q.name === 'orders')?.maxRedelivery, 3);

    document.queues[0]!.maxRedelivery = 7;
    document.queues.push({ ...document.queues[0]!, name: 'quality', subscriptions: ['plant/+/quality'] });
    const edited = join(files.dir, 'edited.json');
    writeFileSync(edited, JSON.stringify(document));
    await page.getByLabel('Configuration document').setInputFiles(edited);
    const diff = page.getByRole('table', { name: 'Import diff' });
    await diff.getByText('update (maxRedelivery)').waitFor();
    await diff.getByRole('cell', { name: 'quality' }).waitFor();
    assert.equal((await ui.broker.service.call('queues.get', { name: 'orders' })).config.maxRedelivery, 3);
    await screenshot(page, 'settings');

    const apply = page.getByRole('button', { name: 'Apply import' });
    await apply.click();
    await page.getByRole('button', { name: 'Apply all changes? (click again)' }).click();
    await page.getByText(/Imported edited\.json/).waitFor();
    assert.equal((await ui.broker.service.call('queues.get', { name: 'orders' })).config.maxRedelivery, 7);
    assert.ok(await ui.broker.service.call('queues.get', { name: 'quality' }));
  });

  test('a file that is not a Sluice document is refused with the reason', async () => {
    const { page } = ui;
    const wrong = join(files.dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ format: 'sluice-config', version: 3 }));
    await page.getByLabel('Configuration document').setInputFiles(wrong);
    await page.getByText(/wrong\.json cannot be imported: version 3 is newer/).waitFor();
  });

  test('Back up now shows progress, then the backup downloads as an SQLite file', async () => {
    const { page } = ui;
    await page.getByRole('button', { name: 'Back up now' }).click();
    await page.getByText(/^Backup sluice-.*\.db: \d+ pages, \d+ bytes$/).waitFor();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download backup' }).click();
    const saved = join(files.dir, 'backup.db');
    await (await downloading).saveAs(saved);
    assert.equal(readFileSync(saved).subarray(0, 15).toString(), 'SQLite format 3');
  });
});
