/**
 * Where the packaged desktop app is (docs/release.md): the executable electron-builder leaves in
 * its unpacked output, the one each installer puts on the machine, and the one the e2e suite
 * launches (SLUICE_APP_PATH wins). Names come from package.json and electron-builder.yml, so a
 * renamed product moves the paths with it. Pure path logic, unit-tested for every platform.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The platforms electron-builder builds installers for. */
export type DesktopPlatform = 'linux' | 'win32' | 'darwin';

/** The names electron-builder derives the executable's from. */
export interface AppNames {
  /** package.json `name`: the Linux executable (lower case) and the deb's package name. */
  readonly packageName: string;
  /** electron-builder.yml `productName`: the Windows and macOS executable, the install folder. */
  readonly productName: string;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The names in this checkout's package.json and electron-builder.yml. */
export function appNames(projectDir: string = root): AppNames {
  const pkg = JSON.parse(readFileSync(path.join(projectDir, 'package.json'), 'utf8')) as { name: string };
  const builder = parse(readFileSync(path.join(projectDir, 'electron-builder.yml'), 'utf8')) as {
    productName?: string;
  };
  return { packageName: pkg.name, productName: builder.productName ?? pkg.name };
}

/** `path.win32` on Windows, `path.posix` elsewhere: the path rules of the platform named, not of this machine. */
function pathsOf(platform: DesktopPlatform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** electron-builder's arch suffix: none for x64 (its default arch), `-arm64` and so on otherwise. */
function archSuffix(arch: string): string {
  return arch === 'x64' ? '' : `-${arch}`;
}

/**
 * The executable in electron-builder's unpacked output under `distDir` (what `--dir` builds, and
 * what every installer is made from): `linux-unpacked/sluice`, `win-unpacked/Sluice.exe`,
 * `mac-arm64/Sluice.app/Contents/MacOS/Sluice`.
 */
export function unpackedExecutable(platform: DesktopPlatform, arch: string, distDir: string, names: AppNames): string {
  const { join } = pathsOf(platform);
  const suffix = archSuffix(arch);
  switch (platform) {
    case 'linux':
      return join(distDir, `linux${suffix}-unpacked`, names.packageName.toLowerCase());
    case 'win32':
      return join(distDir, `win${suffix}-unpacked`, `${names.productName}.exe`);
    case 'darwin':
      return join(distDir, `mac${suffix}`, `${names.productName}.app`, 'Contents', 'MacOS', names.productName);
  }
}

/** Where the dmg is mounted to launch the app from it (install-app.ts). */
export const dmgMountPoint = '/tmp/sluice-dmg';

/**
 * The executable an installer puts on the machine: the deb under /opt/<productName>/, the
 * per-user NSIS install under %LOCALAPPDATA%\Programs\<productName>\, the app inside the mounted dmg.
 */
export function installedExecutable(platform: DesktopPlatform, env: NodeJS.ProcessEnv, names: AppNames): string {
  const { join } = pathsOf(platform);
  switch (platform) {
    case 'linux':
      return join('/opt', names.productName, names.packageName.toLowerCase());
    case 'win32': {
      const localAppData = env.LOCALAPPDATA;
      if (!localAppData) throw new Error('LOCALAPPDATA is not set: cannot tell where the NSIS installer put the app');
      return join(localAppData, 'Programs', names.productName, `${names.productName}.exe`);
    }
    case 'darwin':
      return join(dmgMountPoint, `${names.productName}.app`, 'Contents', 'MacOS', names.productName);
  }
}

/** The platform as electron-builder sees it, or undefined on one it does not build for. */
export function desktopPlatform(platform: NodeJS.Platform = process.platform): DesktopPlatform | undefined {
  return platform === 'linux' || platform === 'win32' || platform === 'darwin' ? platform : undefined;
}

/** Where to look for the app: the environment, this machine, the checkout's dist/. */
export interface AppSearch {
  readonly env: NodeJS.ProcessEnv;
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly distDir: string;
  readonly names: AppNames;
  readonly exists: (file: string) => boolean;
}

/** The packaged app to launch, or why there is none: SLUICE_APP_PATH, else the unpacked build in dist/. */
export function findPackagedApp(search: AppSearch): { path: string } | { reason: string } {
  const given = search.env.SLUICE_APP_PATH;
  if (given) return search.exists(given) ? { path: given } : { reason: `SLUICE_APP_PATH names no file: ${given}` };
  const platform = desktopPlatform(search.platform);
  if (!platform) return { reason: `electron-builder builds no app for ${search.platform}` };
  const unpacked = unpackedExecutable(platform, search.arch, search.distDir, search.names);
  if (search.exists(unpacked)) return { path: unpacked };
  return {
    reason:
      `no packaged app: SLUICE_APP_PATH is not set and ${unpacked} does not exist ` +
      '(build it with network access: npm run build && npx electron-builder --dir; docs/release.md)',
  };
}

/** The packaged app of this checkout on this machine. */
export function packagedAppHere(): { path: string } | { reason: string } {
  return findPackagedApp({
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    distDir: path.join(root, 'dist'),
    names: appNames(),
    exists: existsSync,
  });
}
