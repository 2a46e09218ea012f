import { describe, expect, test } from 'vitest';
import type { BackupStatus, ConfigImportResult } from '../../../core/api/contract.ts';
import { viewFromHash } from '../views/routes.ts';
import { assembleBackup, backupProgress, planRows, planSummary, readConfigFile } from './config-transfer.ts';

const plan: ConfigImportResult = {
  dryRun: true,
  applied: false,
  changes: [
    { kind: 'queue', name: 'orders', action: 'unchanged', fields: [] },
    { kind: 'queue', name: 'quality', action: 'create', fields: [] },
    { kind: 'role', name: 'ops', action: 'update', fields: ['rules'] },
    { kind: 'listener', name: 'mqtt', action: 'manual', fields: ['tcp'], detail: 'set in the config file' },
  ],
  warnings: [],
};

describe('Settings: import', () => {
  test('a file that is not a Sluice document is refused with the reason, before anything is sent', () => {
    expect(readConfigFile('{')).toMatchObject({ ok: false, problem: expect.stringMatching(/not JSON/) });
    expect(readConfigFile('{"format":"sluice-config","version":9}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/version 9 is newer/),
    });
    expect(
      readConfigFile('{"format":"sluice-config","version":1,"queues":[{"name":"q","overflow":"explode"}]}'),
    ).toMatchObject({ ok: false, problem: expect.stringMatching(/queues\[0\]\.overflow/) });
    expect(readConfigFile('{"format":"sluice-config","version":1}')).toMatchObject({ ok: true });
  });

  test('the diff lists changes before unchanged rows, with the changed fields', () => {
    const rows = planRows(plan);
    expect(rows.map((row) => `${row.sign} ${row.kind} ${row.name}`)).toEqual([
      '+ queue quality',
      '~ role ops',
      '! listener mqtt',
      '= queue orders',
    ]);
    expect(rows[1]!.what).toBe('update (rules)');
    expect(planSummary(plan)).toBe('1 to create, 1 to update, 1 unchanged, 1 to set in the config file.');
    expect(planSummary({ ...plan, changes: [plan.changes[0]!] })).toMatch(/Nothing to change/);
  });
});

describe('Settings: backup', () => {
  const status: BackupStatus = {
    id: '1',
    state: 'running',
    file: 'sluice-x-1.db',
    totalPages: 200,
    remainingPages: 50,
    bytes: 0,
    startedAt: 0,
    finishedAt: null,
    error: null,
  };

  test('progress counts copied pages', () => {
    expect(backupProgress(status)).toEqual({ done: 150, total: 200, text: 'Backing up: 75% (150 of 200 pages)' });
    expect(backupProgress({ ...status, state: 'failed', error: 'disk full' }).text).toBe('Backup failed: disk full');
  });

  test('a downloaded backup is reassembled from its chunks, and a gap is an error', () => {
    const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
    const chunks = [
      { offset: 3, data: b64([4, 5]), totalBytes: 5 },
      { offset: 0, data: b64([1, 2, 3]), totalBytes: 5 },
    ];
    expect([...assembleBackup(chunks)]).toEqual([1, 2, 3, 4, 5]);
    expect(() => assembleBackup(chunks.slice(1))).toThrow(/incomplete/);
  });

  test('the Settings view has its route', () => {
    expect(viewFromHash('#/settings')).toBe('settings');
  });
});
