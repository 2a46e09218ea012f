/**
 * What every UI end-to-end test needs: a renderer build, a whole broker serving it (every
 * listener on a free port), and Debian's Chromium driven by playwright-core — never a downloaded
 * browser. Screenshots go to test-results/screenshots/ (artifacts); with
 * SLUICE_SCREENSHOTS_TO_DOCS=1 (npm run screenshots) they also replace docs/screenshots/.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Broker } from '../../core/broker.ts';
import type { ConfigInput } from '../../core/config.ts';
import { resources } from '../../core/resources.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { peerSkip } from '../helpers/peers.ts';

const root = new URL('../../', import.meta.url).pathname;
const rendererIndex = join(resources().uiDir, 'index.html');
const artifacts = join(root, 'test-results/screenshots');
const docs = join(root, 'docs/screenshots');

/** Where Chromium is (SLUICE_CHROMIUM overrides), or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.SLUICE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => !!path && existsSync(path));
}

/** Why the browser suite cannot run here, or undefined when it can. */
export function browserSkipReason(): string | undefined {
  // SLUICE_CHROMIUM names another Chromium; otherwise Debian's, which scripts/install-peers.sh installs.
  return chromiumPath() ? undefined : peerSkip('chromium');
}

/** Builds the renderer once if out/renderer is missing (a fresh clone). */
export function ensureRendererBuild(): void {
  if (existsSync(rendererIndex)) return;
  const result = spawnSync('npx', ['electron-vite', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed; the UI tests need out/renderer');
}

/** A broker serving the UI, and a fresh headless Chromium profile. */
export interface UiSession {
  readonly broker: Broker;
  readonly context: BrowserContext;
  readonly page: Page;
  /** The UI's URL, e.g. http://127.0.0.1:41234/ */
  readonly url: string;
  /** mqtt://127.0.0.1:port */
  readonly mqttUrl: string;
  close(): Promise<void>;
}

/** Starts a broker with the UI and opens it in Chromium. */
export async function openUi(flags: ConfigInput = {}): Promise<UiSession> {
  ensureRendererBuild();
  const { broker, cleanup } = await startTestBroker(flags, { rateIntervalMs: 250 });
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath()!,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  const mqttUrl = broker.listeners.find((l) => l.name === 'mqtt')!.url.split(' ')[0]!;
  return {
    broker,
    context,
    page,
    url: `${broker.httpUrl}/`,
    mqttUrl,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      await cleanup();
      if (problems.length > 0) throw new Error(`errors in the page: ${problems.join('; ')}`);
    },
  };
}

/** Saves a screenshot of the page as a test artifact (and into docs/ when asked). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  if (process.env.SLUICE_SCREENSHOTS_TO_DOCS === '1') {
    mkdirSync(docs, { recursive: true });
    copyFileSync(file, join(docs, `${name}.png`));
  }
  return file;
}
