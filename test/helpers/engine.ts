import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type EngineOptions } from '../../core/engine/engine.ts';
import { silentLogger } from '../../core/log.ts';

/** A fresh temporary data directory, removed by the returned cleanup. */
export function tempDir(prefix = 'sluice-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Engine options for tests: real SQLite on disk in `dir`, quiet, fast timers. */
export function testEngineOptions(dir: string, overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    databaseFile: join(dir, 'sluice.db'),
    maxMessageBytes: 1024 * 1024,
    retention: { maxAgeMs: null, maxLogBytes: 1024 * 1024 * 1024, intervalMs: 60_000 },
    expiryIntervalMs: 60_000,
    logger: silentLogger(),
    ...overrides,
  };
}

/** Opens an engine on a real on-disk database in a new temp dir. */
export async function openTestEngine(
  overrides: Partial<EngineOptions> = {},
): Promise<{ engine: Engine; dir: string; reopen: () => Promise<Engine>; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  let engine = await Engine.open(testEngineOptions(dir, overrides));
  return {
    get engine() {
      return engine;
    },
    dir,
    /** Closes and reopens on the same directory (durability tests, STYLE.md §13). */
    reopen: async () => {
      await engine.close();
      engine = await Engine.open(testEngineOptions(dir, overrides));
      return engine;
    },
    cleanup: async () => {
      await engine.close();
      cleanup();
    },
  };
}
