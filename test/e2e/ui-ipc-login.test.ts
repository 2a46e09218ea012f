/**
 * The desktop window's login, without the Electron binary: the renderer runs in Chromium with a
 * `window.sluice` bridge whose two functions go to a real `IpcSession` (electron/ipc.ts) in this
 * process — the same object main.ts wires to ipcMain for each window — over a real broker with
 * security on and anonymous access off. Only the preload's transport (contextBridge + ipcRenderer)
 * is replaced, by Playwright's exposed functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IpcSession, parseIpcRequest, tokenKeptByMainProcess } from '../../electron/ipc.ts';
import { browserSkipReason, openUi, type UiSession } from './ui-harness.ts';

const skip = browserSkipReason();

describe('desktop window login over IPC', { skip }, () => {
  let ui: UiSession;
  let session: IpcSession;
  before(async () => {
    ui = await openUi({ security: { anonymous: false, firstRun: 'setup' } });
    const { page } = ui;
    session = new IpcSession(ui.broker.service, (message) => {
      void page.evaluate(`window.sluiceDeliver(${JSON.stringify(message)})`).catch(() => undefined); // navigating
    });
    // What the preload does, with Playwright's bindings in place of ipcRenderer.
    await page.exposeFunction('sluiceIpcCall', (op: string, input: unknown) => {
      const request = parseIpcRequest({ kind: 'call', op, input });
      return request?.kind === 'call' ? session.call(request.op, request.input) : undefined;
    });
    await page.exposeFunction('sluiceIpcSend', (message: unknown) => {
      const request = parseIpcRequest(message);
      if (request?.kind === 'subscribe')
        void session.subscribe(request.id, request.stream, request.input).catch(() => undefined);
      else if (request?.kind === 'unsubscribe') session.unsubscribe(request.id);
    });
    // The preload's side, as plain page script (a function here would carry the test's
    // transpiler helpers into the page).
    await page.addInitScript({
      content: `
        const listeners = new Map();
        let nextId = 1;
        window.sluiceDeliver = (batch) => {
          const listener = listeners.get(batch.id);
          if (listener) for (const event of batch.events) listener(event);
        };
        window.sluice = {
          call: (op, input) => window.sluiceIpcCall(op, input),
          subscribe(stream, input, onEvent) {
            const id = nextId++;
            listeners.set(id, onEvent);
            window.sluiceIpcSend({ kind: 'subscribe', id, stream, input });
            return () => {
              listeners.delete(id);
              window.sluiceIpcSend({ kind: 'unsubscribe', id });
            };
          },
        };`,
    });
  });
  after(async () => {
    session?.close();
    await ui?.close();
  });

  test('first run shows setup; the admin it creates is logged in, and the token stays in the main process', async () => {
    const { page } = ui;
    await page.goto(ui.url);
    await page.getByRole('heading', { name: 'Create the administrator' }).waitFor();
    const setup = page.getByRole('form', { name: 'First-run setup' });
    await setup.getByLabel('Password (at least 8 characters)').fill('desktop-admin-pw');
    await setup.getByLabel('Password again').fill('desktop-admin-pw');
    await setup.getByRole('button', { name: 'Create administrator and log in' }).click();
    await page.getByTestId('who').getByText('admin', { exact: true }).first().waitFor();
    await page.getByText('Desktop (IPC)').waitFor();
    assert.equal(session.loggedIn, true);
    const stored = String(await page.evaluate(`sessionStorage.getItem('sluice.session') ?? ''`));
    assert.ok(stored.includes(tokenKeptByMainProcess), stored);
    assert.ok(!stored.includes('slc_'), 'no bearer token in the renderer');
  });

  test('logout revokes the login; a viewer is refused what its role lacks; a reload keeps the login', async () => {
    const { page } = ui;
    await ui.broker.service.call('users.create', { name: 'vera', password: 'viewer-password', roles: ['viewer'] });
    await page.getByTestId('who').getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You are logged out.').waitFor();
    assert.equal(session.loggedIn, false);

    const login = page.getByRole('form', { name: 'Log in' });
    await login.getByLabel('User').fill('vera');
    await login.getByLabel('Password').fill('viewer-password');
    await login.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('who').getByText('vera', { exact: true }).waitFor();

    await page.keyboard.press('6');
    await page.getByLabel('Topic').fill('desk/line1/check');
    await page.getByLabel('Payload', { exact: true }).fill('from a viewer');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Permission denied', { exact: false }).first().waitFor();

    await page.reload();
    await page.getByTestId('who').getByText('vera', { exact: true }).waitFor();
  });
});
