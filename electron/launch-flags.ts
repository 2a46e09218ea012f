/**
 * The broker's V8 flags (core/node-flags.ts) in the desktop app. The core runs in Electron's main
 * process, whose V8 takes heap flags only when it starts (`--js-flags=…` on the command line;
 * `app.commandLine.appendSwitch` is too late for the main process). `npm start` passes them; an
 * installed app started from a shortcut, the Start menu or the Dock has none, so it starts itself
 * once more with them, before any window. `SLUICE_RELAUNCHED` guards against a second relaunch
 * whatever the new instance's command line looks like.
 */
import { missingNodeFlags } from '../core/node-flags.ts';

/** The arguments to start again with (after the executable), or undefined when nothing is missing. */
export function relaunchArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  flags: readonly string[],
): string[] | undefined {
  if (env.SLUICE_RELAUNCHED === '1') return undefined;
  const jsFlags = argv.filter((arg) => arg.startsWith('--js-flags=')).map((arg) => arg.slice('--js-flags='.length));
  const given = jsFlags.flatMap((value) => value.split(/\s+/)).filter(Boolean);
  const missing = missingNodeFlags(given, flags);
  if (missing.length === 0) return undefined;
  const others = argv.slice(1).filter((arg) => !arg.startsWith('--js-flags='));
  return [...others, `--js-flags=${[...given, ...missing].join(' ')}`];
}
