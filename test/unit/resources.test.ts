/**
 * One resources path (core/resources.ts) for every layout Sluice runs from, with the Windows and
 * macOS answers computed by path.win32 / path.posix, so they are checked on any machine.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultDataDir as configDefaultDataDir } from '../../core/config.ts';
import { defaultScenariosDir } from '../../core/demo/scenarios.ts';
import { defaultUiDir } from '../../core/protocols/http/static-files.ts';
import { defaultDataDir, packageRootOf, packageVersion, resolveResources, resources } from '../../core/resources.ts';
import { selfSignedFiles, tlsConfigSnippet } from '../../core/security/tls.ts';

const { posix, win32 } = path;

describe('each layout finds the package root from where its code runs', () => {
  it('the sources: core/ is one level below the root', () => {
    assert.deepEqual(packageRootOf('/home/ann/sluice/core', posix), { layout: 'source', root: '/home/ann/sluice' });
    assert.deepEqual(packageRootOf('C:\\src\\sluice\\core', win32), { layout: 'source', root: 'C:\\src\\sluice' });
  });

  it('the compiled core of an npm install: out/core/ is two levels below the package', () => {
    assert.deepEqual(packageRootOf('/srv/app/node_modules/sluice/out/core', posix), {
      layout: 'compiled',
      root: '/srv/app/node_modules/sluice',
    });
    assert.deepEqual(packageRootOf('C:\\Users\\ann\\AppData\\Roaming\\npm\\node_modules\\sluice\\out\\core', win32), {
      layout: 'compiled',
      root: 'C:\\Users\\ann\\AppData\\Roaming\\npm\\node_modules\\sluice',
    });
  });

  it('the Electron main bundle: out/main/ is two levels below the app', () => {
    assert.deepEqual(packageRootOf('/Applications/Sluice.app/Contents/Resources/app.asar/out/main', posix), {
      layout: 'electron',
      root: '/Applications/Sluice.app/Contents/Resources/app.asar',
    });
  });

  it('code bundled anywhere else is refused with where it runs from, not guessed', () => {
    assert.throws(
      () => packageRootOf('/opt/sluice/dist', posix),
      /runs from \/opt\/sluice\/dist, which is none of core\//,
    );
  });
});

describe('every shipped file resolves in each layout', () => {
  it('the source tree: resources/ and out/renderer next to core/', () => {
    assert.deepEqual(resolveResources({ moduleDir: '/home/ann/sluice/core' }, posix), {
      layout: 'source',
      packageRoot: '/home/ann/sluice',
      packageJson: '/home/ann/sluice/package.json',
      scenariosDir: '/home/ann/sluice/resources/scenarios',
      uiDir: '/home/ann/sluice/out/renderer',
      iconFile: '/home/ann/sluice/resources/icon.png',
      trayIconFile: '/home/ann/sluice/resources/tray.png',
    });
  });

  it('an npm pack install on Windows: the package folder holds resources/ and out/renderer', () => {
    const found = resolveResources({ moduleDir: 'C:\\work\\app\\node_modules\\sluice\\out\\core' }, win32);
    assert.equal(found.layout, 'compiled');
    assert.equal(found.packageJson, 'C:\\work\\app\\node_modules\\sluice\\package.json');
    assert.equal(found.scenariosDir, 'C:\\work\\app\\node_modules\\sluice\\resources\\scenarios');
    assert.equal(found.uiDir, 'C:\\work\\app\\node_modules\\sluice\\out\\renderer');
  });

  it('Electron from a checkout (npm start): its resourcesPath is Electron’s own, so the checkout’s files are used', () => {
    const found = resolveResources(
      {
        moduleDir: '/home/ann/sluice/out/main',
        resourcesPath: '/home/ann/sluice/node_modules/electron/dist/resources',
      },
      posix,
    );
    assert.equal(found.layout, 'electron');
    assert.equal(found.scenariosDir, '/home/ann/sluice/resources/scenarios');
    assert.equal(found.iconFile, '/home/ann/sluice/resources/icon.png');
    assert.equal(found.uiDir, '/home/ann/sluice/out/renderer');
  });

  it('the Windows installer (NSIS): scenarios and icons in resources\\, the UI inside app.asar', () => {
    const found = resolveResources(
      {
        moduleDir: 'C:\\Program Files\\Sluice\\resources\\app.asar\\out\\main',
        resourcesPath: 'C:\\Program Files\\Sluice\\resources',
      },
      win32,
    );
    assert.deepEqual(found, {
      layout: 'packaged',
      packageRoot: 'C:\\Program Files\\Sluice\\resources\\app.asar',
      packageJson: 'C:\\Program Files\\Sluice\\resources\\app.asar\\package.json',
      scenariosDir: 'C:\\Program Files\\Sluice\\resources\\scenarios',
      uiDir: 'C:\\Program Files\\Sluice\\resources\\app.asar\\out\\renderer',
      iconFile: 'C:\\Program Files\\Sluice\\resources\\icon.png',
      trayIconFile: 'C:\\Program Files\\Sluice\\resources\\tray.png',
    });
  });

  it('the macOS dmg app: Contents/Resources holds the scenarios and icons, app.asar the UI', () => {
    const found = resolveResources(
      {
        moduleDir: '/Applications/Sluice.app/Contents/Resources/app.asar/out/main',
        resourcesPath: '/Applications/Sluice.app/Contents/Resources',
      },
      posix,
    );
    assert.equal(found.layout, 'packaged');
    assert.equal(found.scenariosDir, '/Applications/Sluice.app/Contents/Resources/scenarios');
    assert.equal(found.trayIconFile, '/Applications/Sluice.app/Contents/Resources/tray.png');
    assert.equal(found.uiDir, '/Applications/Sluice.app/Contents/Resources/app.asar/out/renderer');
  });

  it('the Linux AppImage, mounted at a temporary folder: the same layout below its resources/', () => {
    const found = resolveResources(
      {
        moduleDir: '/tmp/.mount_SluiceAbc/resources/app.asar/out/main',
        resourcesPath: '/tmp/.mount_SluiceAbc/resources',
      },
      posix,
    );
    assert.equal(found.layout, 'packaged');
    assert.equal(found.scenariosDir, '/tmp/.mount_SluiceAbc/resources/scenarios');
  });

  it('electron-builder.yml copies the scenarios and icons to where the packaged layout looks', () => {
    const config = readFileSync(new URL('../../electron-builder.yml', import.meta.url), 'utf8');
    const packaged = resolveResources({ moduleDir: '/r/app.asar/out/main', resourcesPath: '/r' }, posix);
    for (const [from, file] of [
      ['resources/scenarios', packaged.scenariosDir],
      ['resources/icon.png', packaged.iconFile],
      ['resources/tray.png', packaged.trayIconFile],
    ] as const)
      assert.ok(
        config.includes(`- from: ${from}\n    to: ${posix.relative('/r', file)}\n`),
        `extraResources lacks ${from}`,
      );
  });
});

describe('this process (the sources under tsx) finds the real files', () => {
  it('the scenarios, the icons and package.json exist where resources() says', () => {
    const found = resources();
    assert.equal(found.layout, 'source');
    assert.ok(readdirSync(found.scenariosDir).some((name) => name.endsWith('.json')));
    assert.ok(existsSync(found.iconFile) && existsSync(found.trayIconFile));
    const pkg = JSON.parse(readFileSync(found.packageJson, 'utf8')) as { name: string; version: string };
    assert.equal(pkg.name, 'sluice');
    assert.equal(packageVersion(found), pkg.version);
  });

  it('the demo runner and the HTTP door read their files through it', () => {
    assert.equal(defaultScenariosDir, resources().scenariosDir);
    assert.equal(defaultUiDir, resources().uiDir);
  });
});

describe('per-user paths on each platform', () => {
  it('the data directory follows each platform’s app-data convention, with its separators', () => {
    assert.equal(defaultDataDir('linux', {}, '/home/ann'), '/home/ann/.local/share/sluice');
    assert.equal(defaultDataDir('linux', { XDG_DATA_HOME: '/data' }, '/home/ann'), '/data/sluice');
    assert.equal(defaultDataDir('darwin', {}, '/Users/ann'), '/Users/ann/Library/Application Support/Sluice');
    assert.equal(
      defaultDataDir('win32', { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'C:\\Users\\ann'),
      'C:\\Users\\ann\\AppData\\Roaming\\Sluice',
    );
    assert.equal(defaultDataDir('win32', {}, 'C:\\Users\\ann'), 'C:\\Users\\ann\\AppData\\Roaming\\Sluice');
    assert.equal(configDefaultDataDir, defaultDataDir, 'config.ts uses the same function');
  });

  it('a self-signed certificate’s files are absolute, from any folder, on each platform', () => {
    assert.deepEqual(selfSignedFiles('tls', '/home/ann/lab', posix), {
      cert: '/home/ann/lab/tls/cert.pem',
      key: '/home/ann/lab/tls/key.pem',
    });
    assert.deepEqual(selfSignedFiles('/etc/sluice', '/home/ann', posix).cert, '/etc/sluice/cert.pem');
    assert.deepEqual(selfSignedFiles('.\\tls', 'C:\\Users\\ann\\lab', win32), {
      cert: 'C:\\Users\\ann\\lab\\tls\\cert.pem',
      key: 'C:\\Users\\ann\\lab\\tls\\key.pem',
    });
    assert.equal(selfSignedFiles('D:\\certs', 'C:\\Users\\ann', win32).key, 'D:\\certs\\key.pem');
  });

  it('the printed tls config is JSON that gives back a Windows path unchanged', () => {
    const files = selfSignedFiles('tls', 'C:\\Users\\ann', win32);
    assert.deepEqual(JSON.parse(tlsConfigSnippet(files)), { tls: files });
  });

  it('scenario paths of a Windows install keep their drive and separators', () => {
    const found = resolveResources({ moduleDir: 'D:\\tools\\node_modules\\sluice\\out\\core' }, win32);
    assert.equal(
      win32.join(found.scenariosDir, '1-erp-offline.json'),
      'D:\\tools\\node_modules\\sluice\\resources\\scenarios\\1-erp-offline.json',
    );
    assert.ok(win32.isAbsolute(found.scenariosDir));
  });
});
