// Broker configuration: defaults < file < environment < flags, one schema, clear errors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultDataDir, loadConfig } from '../../core/config.ts';
import { SluiceError } from '../../core/errors.ts';
import { tempDir } from '../helpers/engine.ts';

function configError(run: () => unknown): SluiceError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'invalid-config');
    return error;
  }
  assert.fail('expected invalid-config');
}

describe('broker configuration', () => {
  it('defaults fill every field', () => {
    const config = loadConfig({ env: { XDG_DATA_HOME: '/xdg' } });
    if (process.platform === 'linux') assert.equal(config.dataDir, '/xdg/sluice');
    assert.deepEqual(config.http, {
      host: '127.0.0.1',
      port: 8080,
      maxBodyBytes: 32 * 1024 * 1024,
      events: { heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024 },
    });
    assert.equal(config.security.anonymous, false, 'anonymous access is off unless switched on');
    assert.equal(config.security.firstRun, 'generate-admin');
    assert.deepEqual(config.tls, {});
    assert.equal(config.limits.maxMessageBytes, 16 * 1024 * 1024);
    assert.deepEqual(config.retention, {
      maxAgeMs: 7 * 24 * 3600 * 1000,
      maxLogBytes: 2 * 1024 ** 3,
      intervalMs: 10_000,
    });
    assert.equal(config.expiryIntervalMs, 1000);
    assert.deepEqual(config.queues, []);
  });

  it('the data directory follows each platform’s app-data convention', () => {
    assert.equal(defaultDataDir('linux', {}, '/home/ann'), '/home/ann/.local/share/sluice');
    assert.equal(defaultDataDir('linux', { XDG_DATA_HOME: '/data' }, '/home/ann'), '/data/sluice');
    assert.equal(defaultDataDir('darwin', {}, '/Users/ann'), '/Users/ann/Library/Application Support/Sluice');
    assert.match(
      defaultDataDir('win32', { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, 'C:\\Users\\ann'),
      /Roaming.Sluice$/,
    );
  });

  it('a file, the environment and flags override each other in that order', () => {
    const { dir, cleanup } = tempDir();
    const file = join(dir, 'sluice.json');
    writeFileSync(
      file,
      JSON.stringify({ logLevel: 'debug', http: { host: '0.0.0.0', port: 1000 }, retention: { maxAgeMs: null } }),
    );
    const config = loadConfig({
      env: { SLUICE_CONFIG: file, SLUICE_HTTP_PORT: '2000', SLUICE_DATA_DIR: '/env/data' },
      flags: { dataDir: '/flag/data' },
    });
    cleanup();
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(
      { ...config.http, events: undefined },
      { host: '0.0.0.0', port: 2000, maxBodyBytes: 32 * 1024 * 1024, events: undefined },
    );
    assert.equal(config.retention.maxAgeMs, null);
    assert.equal(config.retention.intervalMs, 10_000, 'a partial section keeps the other defaults');
    assert.equal(config.dataDir, '/flag/data');
  });

  it("a host's defaults (the desktop's first-run setup) sit below the file, the environment and the flags", () => {
    const desktop = { security: { firstRun: 'setup' as const } };
    assert.equal(loadConfig({ env: {}, defaults: desktop }).security.firstRun, 'setup');
    assert.equal(loadConfig({ env: {} }).security.firstRun, 'generate-admin', 'sluice serve keeps its own default');
    const { dir, cleanup } = tempDir();
    const file = join(dir, 'sluice.json');
    writeFileSync(file, JSON.stringify({ security: { firstRun: 'generate-admin' } }));
    const fromFile = loadConfig({ file, env: {}, defaults: desktop });
    cleanup();
    assert.equal(fromFile.security.firstRun, 'generate-admin');
    assert.equal(fromFile.security.anonymous, false, 'the rest of the section keeps its defaults');
    const fromFlags = loadConfig({ env: {}, defaults: desktop, flags: { security: { firstRun: 'generate-admin' } } });
    assert.equal(fromFlags.security.firstRun, 'generate-admin');
  });

  it('an invalid value names the field, the problem and where it came from', () => {
    const { dir, cleanup } = tempDir();
    const file = join(dir, 'sluice.json');
    writeFileSync(file, JSON.stringify({ http: { port: 70_000 }, queues: [{ name: 'q', overflow: 'explode' }] }));
    const fromFile = configError(() => loadConfig({ file, env: {} }));
    assert.match(fromFile.detail, /http\.port: .*65535.* \(in .*sluice\.json\)/);
    assert.match(fromFile.detail, /queues\.0\.overflow: .* \(in .*sluice\.json\)/);
    assert.equal(fromFile.data?.file, file);
    const fromEnv = configError(() => loadConfig({ env: { SLUICE_LOG_LEVEL: 'loud' } }));
    assert.match(fromEnv.detail, /logLevel: .* \(from SLUICE_LOG_LEVEL\)/);
    const typo = configError(() => loadConfig({ env: {}, flags: { htpp: {} } as never }));
    assert.match(typo.detail, /Unrecognized key: "htpp" \(from the command line\)/);
    cleanup();
  });

  it('an unreadable or malformed file is named', () => {
    const { dir, cleanup } = tempDir();
    assert.match(
      configError(() => loadConfig({ file: join(dir, 'missing.json'), env: {} })).detail,
      /Cannot read config file .*missing\.json/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "http": ');
    assert.match(configError(() => loadConfig({ file: bad, env: {} })).detail, /bad\.json is not valid JSON/);
    cleanup();
  });

  it('declared queues get the queue defaults and may not repeat', () => {
    const config = loadConfig({ env: {}, flags: { queues: [{ name: 'orders', subscriptions: ['a/#'] }] } });
    assert.equal(config.queues[0]!.maxRedelivery, 10);
    const twice = configError(() => loadConfig({ env: {}, flags: { queues: [{ name: 'q' }, { name: 'q' }] } }));
    assert.match(twice.detail, /queues\.1\.name: queue "q" is declared twice/);
  });
});
