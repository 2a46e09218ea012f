// The UI-open variant of the benchmarks: a real Chromium page (Debian's /usr/bin/chromium through
// playwright-core, as test/e2e does) logged in to `sluice serve` and left on one view while the
// load runs. The page records its main-thread long tasks (Long Tasks API: tasks over 50 ms);
// `resetTasks` starts the measured window, `longestTaskMs` reads it.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The views the benchmark opens. */
export type UiView = 'topics' | 'overview';

let browser: Browser | undefined;

/** Where Chromium is, or undefined when it is not installed (the UI rows are then skipped). */
export function chromiumPath(): string | undefined {
  return [process.env.SLUICE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
    (path): path is string => !!path && existsSync(path),
  );
}

/** An open page on one view of the broker's UI. */
export interface UiProbe {
  /** Forgets the long tasks seen so far (call when the measured round starts). */
  resetTasks(): Promise<void>;
  /** The longest main-thread task since the reset, in ms (0 when none was over 50 ms), and how many. */
  longTasks(): Promise<{ longestMs: number; count: number }>;
  close(): Promise<void>;
}

/** Opens `view` of the UI at `httpUrl`, logged in as `user`, and waits until it shows. */
export async function openUiProbe(
  httpUrl: string,
  user: { readonly username: string; readonly password: string },
  view: UiView,
): Promise<UiProbe> {
  browser ??= await chromium.launch({
    executablePath: chromiumPath()!,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page: Page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.addInitScript(() => {
    const state = { tasks: [] as number[] };
    (globalThis as unknown as { __sluiceLongTasks: typeof state }).__sluiceLongTasks = state;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) state.tasks.push(entry.duration);
    }).observe({ type: 'longtask' as 'mark', buffered: true }); // 'longtask' is Chromium's, not in lib.dom
  });
  await page.goto(`${httpUrl}/#/${view}`);
  await page.getByLabel('User').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('region', { name: view === 'topics' ? 'Topics' : 'Overview' }).waitFor();
  return {
    resetTasks: () =>
      page.evaluate(() => {
        (globalThis as unknown as { __sluiceLongTasks: { tasks: number[] } }).__sluiceLongTasks.tasks = [];
      }),
    longTasks: () =>
      page.evaluate(() => {
        const { tasks } = (globalThis as unknown as { __sluiceLongTasks: { tasks: number[] } }).__sluiceLongTasks;
        return { longestMs: tasks.length ? Math.max(...tasks) : 0, count: tasks.length };
      }),
    close: () => context.close(),
  };
}

/** Closes the shared browser (at the end of the benchmark). */
export async function closeUiBrowser(): Promise<void> {
  await browser?.close();
  browser = undefined;
}
