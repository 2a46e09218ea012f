/**
 * Where Sluice's own files are — package.json (the version), the UI build, the demo scenarios and
 * the icons — in every layout it runs from, and where its data goes by default. Every reader of
 * those files asks here, so a new layout is one case in `packageRootOf`, not a `../../` per file.
 *
 * | layout     | this module runs from                        | resources                           |
 * | ---------- | -------------------------------------------- | ----------------------------------- |
 * | `source`   | `<root>/core/resources.ts` (tsx, tests)      | `<root>/resources`, `<root>/out/renderer` |
 * | `compiled` | `<root>/out/core/resources.js` (the bin, an npm pack install) | as `source`        |
 * | `electron` | bundled into `<root>/out/main/main.js` (`npm start` with Electron) | as `source`   |
 * | `packaged` | bundled into `<resources>/app.asar/out/main/main.js` (an installer) | scenarios and icons in `process.resourcesPath` (electron-builder `extraResources`), the UI inside the asar |
 *
 * The functions take the platform's path module so the Windows and macOS answers are unit-tested
 * on any machine (test/unit/resources.test.ts).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';

/** node:path's functions for one platform (`path.win32`, `path.posix`, or the running one's). */
export type PathFunctions = nodePath.PlatformPath;

/** How this copy of Sluice is laid out on disk (see the table above). */
export type Layout = 'source' | 'compiled' | 'electron' | 'packaged';

/** The files Sluice ships, as absolute paths. */
export interface ResourcePaths {
  readonly layout: Layout;
  /** The folder holding package.json (inside app.asar when packaged). */
  readonly packageRoot: string;
  readonly packageJson: string;
  /** The demo scenarios, one JSON file each (docs/demo.md). */
  readonly scenariosDir: string;
  /** The renderer build (`npm run build` writes it): served over HTTP and loaded by the Electron window. */
  readonly uiDir: string;
  /** The app icon (window, installers) and the tray icon. */
  readonly iconFile: string;
  readonly trayIconFile: string;
}

/** Where this module's code runs from, and Electron's resources folder when there is one. */
export interface RunningFrom {
  /** The folder of the file this module's code is in (a bundle's folder when bundled). */
  readonly moduleDir: string;
  /** `process.resourcesPath`: set by Electron only. */
  readonly resourcesPath?: string | undefined;
}

/** The layout and package root for code running in `moduleDir`; throws for a layout not in the table. */
export function packageRootOf(moduleDir: string, path: PathFunctions = nodePath): { layout: Layout; root: string } {
  const dir = path.resolve(moduleDir);
  const parent = path.dirname(dir);
  if (path.basename(dir) === 'core') {
    // out/core (compiled) is checked first: a checkout named ".../out" holding core/ is not likely.
    if (path.basename(parent) === 'out') return { layout: 'compiled', root: path.dirname(parent) };
    return { layout: 'source', root: parent };
  }
  if (path.basename(dir) === 'main' && path.basename(parent) === 'out')
    return { layout: 'electron', root: path.dirname(parent) };
  throw new Error(
    `Sluice cannot tell where its files are: its code runs from ${dir}, which is none of core/, out/core/ or out/main/ (core/resources.ts)`,
  );
}

/** Every shipped file's path for code running as `from` says; pure, so each layout is unit-tested. */
export function resolveResources(from: RunningFrom, path: PathFunctions = nodePath): ResourcePaths {
  const found = packageRootOf(from.moduleDir, path);
  const root = found.root;
  // Electron always sets resourcesPath, also when it runs a checkout (`npm start`): there it is
  // Electron's own folder in node_modules, which does not hold the app.
  const packaged = from.resourcesPath !== undefined && isInside(root, path.resolve(from.resourcesPath), path);
  const layout: Layout = packaged ? 'packaged' : found.layout;
  const resourcesDir = packaged ? path.resolve(from.resourcesPath!) : path.join(root, 'resources');
  return {
    layout,
    packageRoot: root,
    packageJson: path.join(root, 'package.json'),
    // electron-builder.yml copies resources/scenarios to <resourcesPath>/scenarios and the icons next to it.
    scenariosDir: path.join(resourcesDir, 'scenarios'),
    uiDir: path.join(root, 'out', 'renderer'),
    iconFile: path.join(resourcesDir, 'icon.png'),
    trayIconFile: path.join(resourcesDir, 'tray.png'),
  };
}

function isInside(child: string, parent: string, path: PathFunctions): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

let running: ResourcePaths | undefined;

/** This process's resources (resolved once). */
export function resources(): ResourcePaths {
  running ??= resolveResources({
    moduleDir: nodePath.dirname(fileURLToPath(import.meta.url)),
    // Declared by Electron's types only; plain Node leaves it undefined.
    resourcesPath: (process as { resourcesPath?: string }).resourcesPath,
  });
  return running;
}

/** Sluice's version, from the package.json that ships with this code. */
export function packageVersion(paths: ResourcePaths = resources()): string {
  return (JSON.parse(readFileSync(paths.packageJson, 'utf8')) as { version: string }).version;
}

/** The per-user app-data directory for Sluice on `platform`, written with that platform's separators. */
export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  const path = platform === 'win32' ? nodePath.win32 : nodePath.posix;
  if (platform === 'win32') return path.join(env.APPDATA || path.join(home, 'AppData', 'Roaming'), 'Sluice');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Sluice');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'sluice');
}
