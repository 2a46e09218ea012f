// `sluice serve` as a real process: starts from a config file and flags, stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';

describe('sluice serve', () => {
  it('starts from a config file, serves the declared queues, and exits 0 on SIGTERM after draining', async () => {
    const { dir, cleanup } = tempDir();
    const configFile = join(dir, 'sluice.json');
    writeFileSync(configFile, JSON.stringify({ queues: [{ name: 'declared', subscriptions: ['plant/#'] }] }));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'core/cli.ts',
        'serve',
        '--config',
        configFile,
        '--data-dir',
        dir,
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--mqtt-ws-port',
        '0',
        '--amqp-port',
        '0',
      ],
      { env: { ...process.env, SLUICE_LOG_LEVEL: 'info', SLUICE_HTTP_PORT: '1' } }, // flags beat the environment
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /serving (http:\/\/\S+)/.test(stdout) && /with password/.test(stdout), {
        timeoutMs: 15_000,
        what: `serve to start (${stderr})`,
      });
      const url = /serving (http:\/\/\S+)/.exec(stdout)![1]!;
      // First run: the admin's password is printed once; anonymous access is off by default.
      const password = /created user "admin" with password (\S+)/.exec(stdout)?.[1];
      assert.ok(password, `the first-run admin is announced: ${stdout}`);
      assert.equal((await fetch(`${url}/api/v1/queues/declared`)).status, 401);
      const authorization = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
      const queue = await fetch(`${url}/api/v1/queues/declared`, { headers: { authorization } });
      assert.equal(queue.status, 200);
      assert.deepEqual(((await queue.json()) as { config: { subscriptions: string[] } }).config.subscriptions, [
        'plant/#',
      ]);
      const published = await fetch(`${url}/api/v1/messages`, {
        method: 'POST',
        // JSON says so: the API refuses text/plain, fetch's default for a string body (docs/security.md).
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ topic: 'plant/line-1', payload: 'before stop' }),
      });
      assert.equal(published.status, 201);

      const mqttUrl = /mqtt: (mqtt:\/\/\S+)/.exec(stdout)?.[1];
      assert.ok(mqttUrl, `the MQTT listener is announced: ${stdout}`);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /"msg":"broker stopped"/);
    } finally {
      child.kill('SIGKILL');
      cleanup();
    }
  });

  it('an invalid setting exits 2 naming the field, the problem and where it came from', async () => {
    const { dir, cleanup } = tempDir();
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'core/cli.ts', 'serve', '--data-dir', dir, '--http-port', 'eighty'],
        (error, _stdout, stderr) => resolve({ code: Number(error?.code ?? 0), stderr }),
      ),
    );
    cleanup();
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Invalid configuration: http\.port: .*expected number.* \(from the command line\)/);
  });
});
