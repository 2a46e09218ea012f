/**
 * The UI as an engineer has it open during a shift: Debian's Chromium (playwright-core, never a
 * downloaded browser) logged in and on the Topics view, left open across broker restarts. Reports
 * its longest main-thread task (Long Tasks API) and uncaught page errors.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Credentials } from './workload.ts';

export interface UiPage {
  finish(): Promise<{ opened: true; longestTaskMs: number | null; pageErrors: number; note: string }>;
}

/** Runs in the page before its own scripts: keeps the longest task the Long Tasks API reports. */
const longTaskObserver = `
  window.sluiceLongestTaskMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      window.sluiceLongestTaskMs = Math.max(window.sluiceLongestTaskMs, entry.duration);
  }).observe({ type: 'longtask', buffered: true });`;

export async function openUiPage(url: string, credentials: Credentials): Promise<UiPage | undefined> {
  const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
  if (!executablePath) return undefined;
  const profile = mkdtempSync(join(tmpdir(), 'sluice-soak-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await context.newPage();
  let pageErrors = 0;
  page.on('pageerror', () => pageErrors++);
  try {
    await page.addInitScript({ content: longTaskObserver });
    await page.goto(url);
    const form = page.getByRole('form', { name: 'Log in' });
    await form.getByLabel('User').fill(credentials.username);
    await form.getByLabel('Password').fill(credentials.password);
    await form.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor({ timeout: 30_000 });
    await page.goto(`${url}/#/topics`);
  } catch (error) {
    // A browser left open would keep this process alive after the run.
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    async finish() {
      const longestTaskMs = (await page.evaluate('window.sluiceLongestTaskMs ?? null').catch(() => null)) as
        number | null;
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      return { opened: true, longestTaskMs, pageErrors, note: 'Topics view open for the whole run' };
    },
  };
}
