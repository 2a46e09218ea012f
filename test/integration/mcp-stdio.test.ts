// The MCP suite over stdio: `sluice mcp` as a real child process, relaying to the broker's /mcp
// with the CLI's credentials; plus how it fails before the host sees anything.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { it } from 'node:test';
import { mcpSuite } from './mcp-suite.ts';

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

mcpSuite('stdio', (fixture) => {
  it('sluice mcp exits at once with the CLI’s message and code on bad credentials or no broker', async () => {
    const bad = await runSluice(['--url', fixture.broker.httpUrl, '--auth', 'bob:wrong-password', 'mcp']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Bad user name or password/);
    assert.equal(bad.stdout, '', 'stdout is for the protocol only');
    const gone = await runSluice(['--url', 'http://127.0.0.1:9', '--auth', 'bob:bob-password', 'mcp']);
    assert.equal(gone.code, 3);
    assert.match(gone.stderr, /Cannot reach the broker/);
  });
});
