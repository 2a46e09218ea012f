// `sluice mcp` as a command: it fails before the host sees anything when the broker refuses the
// credentials or cannot be reached (the CLI's messages and exit codes, stdout left to the
// protocol), and it ends cleanly when the host closes stdin.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Broker } from '../../core/broker.ts';
import { startTestBroker } from '../helpers/broker.ts';
import { waitFor } from '../helpers/wait.ts';

/** Runs the CLI as its own process with stdin closed; never rejects, so exit codes can be asserted. */
function runSluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'core/cli.ts', ...args],
      { env: { PATH: process.env.PATH ?? '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

describe('sluice mcp', () => {
  let broker: Broker;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ broker, cleanup } = await startTestBroker({ security: { anonymous: false } }));
    await broker.security.createUser('bob', 'bob-password', ['viewer']);
  });
  after(() => cleanup());

  it('exits at once with the CLI’s message and code on bad credentials or no broker', async () => {
    const [bad, gone] = await Promise.all([
      runSluice(['--url', broker.httpUrl, '--auth', 'bob:wrong-password', 'mcp']),
      runSluice(['--url', 'http://127.0.0.1:9', '--auth', 'bob:bob-password', 'mcp']),
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Bad user name or password/);
    assert.equal(bad.stdout, '', 'stdout is for the protocol only');
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /Cannot reach the broker/);
  });

  it('answers on stdout, logs on stderr, and exits 0 when the host closes stdin', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'core/cli.ts', '--url', broker.httpUrl, 'mcp'], {
      env: { PATH: process.env.PATH ?? '', SLUICE_AUTH: 'bob:bob-password' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor(() => stderr.includes('relaying stdio'), { what: 'the relay to start', timeoutMs: 60_000 });
    assert.match(stderr, /as bob \(roles: viewer\)/);
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    child.stdin.write(`${JSON.stringify(initialize)}\n`);
    await waitFor(() => stdout.includes('\n'), { what: 'the initialize answer', timeoutMs: 30_000 });
    const answer = JSON.parse(stdout.split('\n')[0]!) as { id: number; result: { serverInfo: { name: string } } };
    assert.equal(answer.id, 1);
    assert.equal(answer.result.serverInfo.name, 'sluice');
    child.stdin.end();
    assert.equal(await exited, 0);
  });
});
