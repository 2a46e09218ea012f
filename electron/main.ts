/**
 * The desktop host (DESIGN.md: electron/ is thin): one instance, the broker core running in this
 * process, one window over IPC, a tray icon with the broker's status, and a shutdown that drains
 * the broker before the process exits. Logic worth testing lives in ipc.ts and tray-status.ts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, shell, Tray } from 'electron';
import { createBroker, type Broker } from '../core/broker.ts';
import { loadConfig } from '../core/config.ts';
import { brokerNodeFlags } from '../core/node-flags.ts';
import { resources } from '../core/resources.ts';
import { ipcChannel } from './channel.ts';
import { IpcSession, parseIpcRequest } from './ipc.ts';
import { relaunchArgs } from './launch-flags.ts';
import { trayStatus } from './tray-status.ts';

const here = fileURLToPath(new URL('.', import.meta.url)); // out/main, in app.asar when packaged
// The UI build and the icons come from core/resources.ts, which knows the installer's layout.
const { uiDir, iconFile, trayIconFile } = resources();
const rendererIndex = join(uiDir, 'index.html');
const preload = join(here, '../preload/preload.cjs');

let broker: Broker | undefined;
let window: BrowserWindow | undefined;
let tray: Tray | undefined;
let drained = false;

// An installed app started without the broker's V8 flags starts once more with them (launch-flags.ts).
const relaunch = app.isPackaged ? relaunchArgs(process.argv, process.env, brokerNodeFlags) : undefined;
if (relaunch) {
  process.env.SLUICE_RELAUNCHED = '1';
  app.relaunch({ args: relaunch });
  app.exit(0);
}
// A second launch focuses the running window: two brokers cannot share one data directory.
else if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on('second-instance', showWindow);
  app.whenReady().then(start, fail);
}

async function start(): Promise<void> {
  // First run: the window's setup page creates the administrator (auth.setup over IPC) instead
  // of a generated password nobody at a desktop sees; a config file or environment may override.
  broker = await createBroker(loadConfig({ defaults: { security: { firstRun: 'setup' } } }));
  // Each call runs as the user the window logged in as (electron/ipc.ts: IpcSession).
  ipcMain.handle(ipcChannel, (event, message: unknown) => {
    const request = parseIpcRequest(message);
    if (request?.kind !== 'call') throw new Error('sluice IPC: malformed call');
    return sessionOf(event.sender).call(request.op, request.input);
  });
  ipcMain.on(ipcChannel, (event, message: unknown) => {
    const request = parseIpcRequest(message);
    const session = sessionOf(event.sender);
    if (request?.kind === 'subscribe')
      session
        .subscribe(request.id, request.stream, request.input)
        .catch((error: unknown) => console.warn('sluice IPC: subscription refused', error));
    else if (request?.kind === 'unsubscribe') session.unsubscribe(request.id);
  });
  tray = new Tray(nativeImage.createFromPath(trayIconFile).resize({ width: 18, height: 18 }));
  tray.on('click', showWindow);
  await refreshTray();
  setInterval(() => void refreshTray(), 2000).unref();
  showWindow();
}

const sessionsByWindow = new Map<number, IpcSession>();

/**
 * One window's login and subscriptions. Destroying the window ends the session (its token is
 * revoked); a reload ends only the subscriptions (their callbacks are gone) and keeps the login,
 * as a browser tab keeps its session across a reload.
 */
function sessionOf(contents: Electron.WebContents): IpcSession {
  const session = sessionsByWindow.get(contents.id);
  if (session) return session;
  const created = new IpcSession(broker!.service, (events) => {
    if (!contents.isDestroyed()) contents.send(ipcChannel, events);
  });
  sessionsByWindow.set(contents.id, created);
  contents.once('destroyed', () => {
    created.close();
    sessionsByWindow.delete(contents.id);
  });
  // Hash changes (views) are same-document navigations and end nothing.
  contents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) created.endSubscriptions();
  });
  return created;
}

function showWindow(): void {
  if (window && !window.isDestroyed()) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return;
  }
  window = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'Sluice',
    icon: iconFile,
    backgroundColor: '#0d1217',
    show: false,
    webPreferences: { preload, contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  window.once('ready-to-show', () => window?.show());
  // The UI never navigates away or opens windows; links to the outside go to the browser.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  void window.loadFile(rendererIndex);
}

async function refreshTray(): Promise<void> {
  if (!broker || !tray) return;
  const status = trayStatus(await broker.service.call('stats.get', {}), broker.httpUrl);
  tray.setToolTip(status.tooltip);
  tray.setContextMenu(
    Menu.buildFromTemplate([
      ...status.lines.map((label) => ({ label, enabled: false })),
      { type: 'separator' },
      { label: 'Open Sluice', click: showWindow },
      { label: 'Quit (drains the broker)', click: () => app.quit() },
    ]),
  );
}

// Closing the window keeps the broker running in the tray; Quit drains it.
app.on('window-all-closed', () => undefined);

app.on('before-quit', (event) => {
  if (drained || !broker) return;
  event.preventDefault();
  tray?.setToolTip('Sluice: stopping…');
  broker.close().finally(() => {
    drained = true;
    app.quit();
  });
});

function fail(error: unknown): void {
  dialog.showErrorBox('Sluice could not start', error instanceof Error ? error.message : String(error));
  app.exit(1);
}
