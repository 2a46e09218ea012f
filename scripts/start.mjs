// npm start: the desktop app when an Electron binary works here; otherwise the headless broker
// with the same UI in the default browser (an air-gapped laptop may have no Electron binary).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const uiUrl = `http://127.0.0.1:${process.env.SLUICE_HTTP_PORT ?? 8080}`;

/** The Electron binary's path, or the reason there is none. */
function electronBinary() {
  try {
    // The electron package's main export is the binary's path; it throws when the download never happened.
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? { path } : { reason: `no binary at ${path}` };
  } catch (error) {
    return { reason: error instanceof Error ? error.message.split('\n')[0] : String(error) };
  }
}

/** Runs a dev tool's JS entry with this Node (no npx: Windows cannot spawn npx.cmd without a shell). */
function runTool(script, args) {
  const result = spawnSync(process.execPath, [join(root, script), ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const build = () => runTool('node_modules/electron-vite/bin/electron-vite.js', ['build']);
/** The compiled core the `sluice` bin runs (tsconfig.build.json; incremental, so seconds when current). */
const buildCore = () => runTool('node_modules/typescript/bin/tsc', ['-p', 'tsconfig.build.json']);

/** Opens a URL in the default browser when the platform has a way; never fails. */
function openBrowser(url) {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => console.log(`Open ${url} in a browser.`));
    child.unref();
  } catch {
    console.log(`Open ${url} in a browser.`);
  }
}

const electron = electronBinary();
if (electron.path) {
  build();
  // The broker's V8 flags (core/node-flags.ts): the main process hosts the broker.
  const child = spawn(electron.path, ['--js-flags=--max-semi-space-size=32', join(root, 'out/main/main.js')], {
    cwd: root,
    stdio: 'inherit',
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log(
    [
      `Electron binary not available (${electron.reason}).`,
      '  To get it: run `npm install electron` on a machine with internet access and copy node_modules/electron',
      '  over, or point ELECTRON_MIRROR / ELECTRON_CUSTOM_DIR at a local mirror and run `node node_modules/electron/install.js`.',
      `Starting the headless broker with the UI at ${uiUrl} instead.`,
      '',
    ].join('\n'),
  );
  if (!existsSync(join(root, 'out/renderer/index.html'))) build();
  buildCore();
  const serve = spawn(
    process.execPath,
    // The broker's V8 flags (core/node-flags.ts), given here so the bin need not start Node again.
    ['--max-semi-space-size=32', join(root, 'bin/sluice.mjs'), 'serve', ...process.argv.slice(2)],
    {
      cwd: root,
      stdio: ['inherit', 'pipe', 'inherit', 'ipc'],
      // Its own process group, so a Ctrl-C reaches it once (passed on below), not twice, which
      // would mean "stop now" instead of a drain; SLUICE_LAUNCHED makes it stop if this launcher
      // dies without passing a signal on (bin/sluice.mjs).
      detached: process.platform !== 'win32',
      env: { ...process.env, SLUICE_LAUNCHED: '1' },
    },
  );
  let opened = false;
  serve.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    // Open the browser once the broker says it is serving, not before.
    const serving = /serving (http\S+)/.exec(chunk.toString());
    if (!opened && serving) {
      opened = true;
      if (!process.env.SLUICE_NO_BROWSER) openBrowser(`${serving[1]}/`);
    }
  });
  // Windows has no signals to pass on: the console's Ctrl-C reaches the broker itself. One Ctrl-C
  // reaches this launcher twice (the terminal, and npm passing it on) and a second signal means
  // "stop now" to the broker: a repeat is passed on only when it comes a second later.
  let lastForwardMs = -Infinity;
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.on(signal, () => {
      if (process.platform === 'win32' || performance.now() - lastForwardMs < 1000) return;
      lastForwardMs = performance.now();
      serve.kill(signal);
    });
  serve.on('exit', (code) => process.exit(code ?? 0));
}
