#!/usr/bin/env node
// The `sluice` command. It runs the compiled core (out/core: `npm run build:core`, which `npm install`
// runs in a checkout and `npm pack` runs before packing), so a packed install needs no dev tools.
// In a checkout without that build it falls back to the TypeScript sources through tsx, and says so.
//
// `sluice serve` hosts a broker, whose V8 heap flags (core/node-flags.ts) must be given when Node
// starts: when they are missing the command runs itself again in a child Node with them (one Node
// start-up more, for `serve` only, never for --help or --version). A launcher that gives the flags
// itself and passes signals on (this one's child, `npm start`) sets SLUICE_LAUNCHED=1 and an IPC
// channel: the broker then stops when that channel closes (the launcher was killed).
// test/unit/node-flags.test.ts and test/integration/bin.test.ts keep this in step.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const compiledCli = new URL('../out/core/cli.js', import.meta.url);
const compiledFlags = new URL('../out/core/node-flags.js', import.meta.url);
const args = process.argv.slice(2);

/** Whether the command is `serve`: its first word, after the global options that take a value. */
function isServe(words) {
  const valued = new Set(['--url', '--auth', '--token']);
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (valued.has(word)) i++;
    else if (!word.startsWith('-')) return word === 'serve';
  }
  return false;
}

/** Loads the core's entry: compiled, or in a checkout without a build the sources through tsx. */
async function loadCore() {
  if (existsSync(compiledCli)) {
    const { brokerNodeFlags, missingNodeFlags } = await import(compiledFlags.href);
    return { brokerNodeFlags, missingNodeFlags, main: async () => (await import(compiledCli.href)).main };
  }
  let tsxApi;
  try {
    // The ESM entry (a file URL, so also on Windows); throws where tsx is not installed.
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    console.error(
      `sluice: the compiled core is missing (${fileURLToPath(compiledCli)}).\n` +
        '  In a checkout, run `npm run build:core`; a package must be packed with `npm pack`, which builds it.',
    );
    process.exit(1);
  }
  if (!process.env.SLUICE_LAUNCHED)
    console.error('sluice: no compiled core (npm run build:core); running the TypeScript sources through tsx');
  (await import(tsxApi)).register();
  const { brokerNodeFlags, missingNodeFlags } = await import('../core/node-flags.ts');
  return { brokerNodeFlags, missingNodeFlags, main: async () => (await import('../core/cli.ts')).main };
}

/**
 * Runs this command again in a Node started with `flags`. The child gets its own process group
 * (POSIX) so a Ctrl-C reaches it once, through this parent; it drains and exits on SIGTERM if this
 * parent dies without passing a signal on (kill -9), which it learns from the IPC channel closing.
 */
function runWithFlags(flags) {
  const posix = process.platform !== 'win32';
  const child = spawn(process.execPath, [...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: posix,
    env: { ...process.env, SLUICE_LAUNCHED: '1' },
  });
  // One Ctrl-C can arrive twice (from the terminal and from npm, which passes signals on to its
  // child) and a second signal tells `serve` to stop without draining: pass on a repeat only when
  // it comes a second later, as a user insisting would send it.
  let lastForwardMs = -Infinity;
  const forward = (signal) => () => {
    // Windows has no signals to pass on: the console's Ctrl-C reaches the child itself.
    if (!posix || performance.now() - lastForwardMs < 1000) return;
    lastForwardMs = performance.now();
    child.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward(signal));
  child.on('error', (error) => {
    console.error(`sluice: cannot start ${process.execPath}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}

const core = await loadCore();
if (process.env.SLUICE_LAUNCHED && process.channel) {
  // The parent above is gone (kill -9): stop as if told to, so the broker drains (DESIGN.md: close() drains).
  process.channel.unref();
  process.once('disconnect', () =>
    // Windows' process.kill ends a process at once; the event reaches `serve`'s handler instead.
    process.platform === 'win32' ? process.emit('SIGTERM', 'SIGTERM') : process.kill(process.pid, 'SIGTERM'),
  );
}
// Help and version only print: never worth a second Node.
const printsOnly = args.some((arg) => ['--help', '-h', '--version', '-V'].includes(arg));
// The flags this Node lacks, by name (core/node-flags.ts): the user's own `--max-semi-space-size=64` counts as given.
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
const missing = isServe(args) && !printsOnly ? core.missingNodeFlags(given, core.brokerNodeFlags) : [];
if (missing.length > 0 && !process.env.SLUICE_LAUNCHED) runWithFlags(missing);
else process.exitCode = await (await core.main())(process.argv);
