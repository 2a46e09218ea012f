/**
 * Installs the installer electron-builder left in dist/ the way a user would, silently, and
 * prints the installed executable's path for SLUICE_APP_PATH (.github/workflows/release.yml), so
 * the e2e suite runs against what ships: the deb (apt, Linux), the NSIS setup (per user,
 * Windows), the dmg (mounted read-only, macOS). Only meant for a throwaway CI runner: the deb
 * install uses sudo. Progress goes to stderr; stdout holds only the path.
 *
 *   node --import tsx test/e2e-electron/install-app.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.ts';
import { appNames, desktopPlatform, dmgMountPoint, installedExecutable, type DesktopPlatform } from './packaged-app.ts';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

/** The one file in dist/ whose name matches, or a clear failure. */
function installer(pattern: RegExp, what: string): string {
  const found = existsSync(dist) ? readdirSync(dist).filter((name) => pattern.test(name)) : [];
  if (found.length !== 1)
    throw new Error(`expected one ${what} in ${dist}, found ${found.length ? found.join(', ') : 'none'}`);
  return join(dist, found[0]!);
}

function run(command: string, args: readonly string[]): void {
  console.error(`install-app: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', process.stderr, process.stderr] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}`);
}

function install(platform: DesktopPlatform): void {
  switch (platform) {
    case 'linux':
      // apt resolves the deb's Depends (electron-builder.yml deb.depends) like a user's install;
      // a runner's package lists may be stale, so refresh them first.
      run('sudo', ['apt-get', 'update']);
      return run('sudo', ['apt-get', 'install', '-y', installer(/\.deb$/, 'deb package')]);
    case 'win32':
      // NSIS: /S silent, /currentuser the per-user install (no elevation) into %LOCALAPPDATA%\Programs.
      return run(installer(/Setup .*\.exe$/, 'NSIS installer'), ['/S', '/currentuser']);
    case 'darwin':
      return run('hdiutil', [
        'attach',
        '-nobrowse',
        '-readonly',
        '-mountpoint',
        dmgMountPoint,
        installer(/\.dmg$/, 'dmg'),
      ]);
  }
}

const platform = desktopPlatform();
if (!platform) throw new Error(`electron-builder builds no installer for ${process.platform}`);
install(platform);
const executable = installedExecutable(platform, process.env, appNames());
// An installer may hand the last steps to a child process; give the file a moment to appear.
await waitFor(() => existsSync(executable), {
  timeoutMs: 120_000,
  intervalMs: 500,
  what: `${executable} after the installer ran`,
});
process.stdout.write(`${executable}\n`);
