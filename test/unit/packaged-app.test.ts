/**
 * Where the desktop e2e suite finds the packaged app (test/e2e-electron/packaged-app.ts), for
 * every platform electron-builder builds, with that platform's path rules (path.win32 on Windows)
 * whatever machine the test runs on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  appNames,
  findPackagedApp,
  installedExecutable,
  unpackedExecutable,
  type AppSearch,
} from '../e2e-electron/packaged-app.ts';

const names = { packageName: 'sluice', productName: 'Sluice' };

describe('packaged app paths', () => {
  test('the names come from package.json and electron-builder.yml', () => {
    assert.deepEqual(appNames(), names);
  });

  test('the unpacked executable is where electron-builder puts it on each platform and arch', () => {
    assert.equal(unpackedExecutable('linux', 'x64', '/repo/dist', names), '/repo/dist/linux-unpacked/sluice');
    assert.equal(unpackedExecutable('linux', 'arm64', '/repo/dist', names), '/repo/dist/linux-arm64-unpacked/sluice');
    assert.equal(
      unpackedExecutable('win32', 'x64', 'C:\\repo\\dist', names),
      'C:\\repo\\dist\\win-unpacked\\Sluice.exe',
    );
    assert.equal(
      unpackedExecutable('darwin', 'arm64', '/repo/dist', names),
      '/repo/dist/mac-arm64/Sluice.app/Contents/MacOS/Sluice',
    );
    assert.equal(
      unpackedExecutable('darwin', 'x64', '/repo/dist', names),
      '/repo/dist/mac/Sluice.app/Contents/MacOS/Sluice',
    );
  });

  test('the installed executable is under /opt, %LOCALAPPDATA%\\Programs, or in the mounted dmg', () => {
    assert.equal(installedExecutable('linux', {}, names), '/opt/Sluice/sluice');
    assert.equal(
      installedExecutable('win32', { LOCALAPPDATA: 'C:\\Users\\op\\AppData\\Local' }, names),
      'C:\\Users\\op\\AppData\\Local\\Programs\\Sluice\\Sluice.exe',
    );
    assert.throws(() => installedExecutable('win32', {}, names), /LOCALAPPDATA is not set/);
    assert.equal(installedExecutable('darwin', {}, names), '/tmp/sluice-dmg/Sluice.app/Contents/MacOS/Sluice');
  });

  const search = (over: Partial<AppSearch>): AppSearch => ({
    env: {},
    platform: 'linux',
    arch: 'x64',
    distDir: '/repo/dist',
    names,
    exists: () => false,
    ...over,
  });

  test('SLUICE_APP_PATH wins over the unpacked build, and a wrong one is named', () => {
    const everything = () => true;
    assert.deepEqual(findPackagedApp(search({ env: { SLUICE_APP_PATH: '/opt/Sluice/sluice' }, exists: everything })), {
      path: '/opt/Sluice/sluice',
    });
    assert.deepEqual(findPackagedApp(search({ env: { SLUICE_APP_PATH: '/nowhere/sluice' } })), {
      reason: 'SLUICE_APP_PATH names no file: /nowhere/sluice',
    });
  });

  test('without SLUICE_APP_PATH the unpacked build is used, or the reason says how to build it', () => {
    const onlyUnpacked = (file: string) => file === '/repo/dist/linux-unpacked/sluice';
    assert.deepEqual(findPackagedApp(search({ exists: onlyUnpacked })), { path: '/repo/dist/linux-unpacked/sluice' });
    const none = findPackagedApp(search({}));
    assert.ok('reason' in none);
    assert.match(none.reason, /\/repo\/dist\/linux-unpacked\/sluice does not exist/);
    assert.match(none.reason, /electron-builder --dir/);
    assert.deepEqual(findPackagedApp(search({ platform: 'freebsd' })), {
      reason: 'electron-builder builds no app for freebsd',
    });
  });
});
